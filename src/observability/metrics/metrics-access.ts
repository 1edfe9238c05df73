import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { RootCredential } from '../../auth/root-credential';
import { AppConfig } from '../../config/app-config';
import { ObservabilityError, ObservabilityErrorCode } from '../observability.error';

/**
 * Who may read /metrics: the root credential, or MMS_METRICS_TOKEN when set (so a Prometheus
 * scraper needs no root power). Tenant keys never: the figures cover every tenant.
 */
@Injectable()
export class MetricsAccess {
  private readonly scrapeTokenHash: Buffer | null;

  constructor(
    private readonly root: RootCredential,
    config: AppConfig,
  ) {
    this.scrapeTokenHash = config.MMS_METRICS_TOKEN ? sha256(config.MMS_METRICS_TOKEN) : null;
  }

  assertMayScrape(authorization: string | undefined): void {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = match?.[1];
    // Both comparisons always run (on hashes, in constant time), so timing tells nothing.
    const isRoot = presented !== undefined && this.root.matches(presented);
    const isScraper = presented !== undefined && this.scrapeTokenHash !== null && timingSafeEqual(sha256(presented), this.scrapeTokenHash);
    if (!isRoot && !isScraper) {
      throw new ObservabilityError(ObservabilityErrorCode.Unauthenticated, 'Send the root credential or MMS_METRICS_TOKEN as Authorization: Bearer <token>');
    }
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
