import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../../auth/auth.error';
import { CredentialResolver } from '../../auth/credential-resolver.service';
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
    private readonly credentials: CredentialResolver,
    config: AppConfig,
  ) {
    this.scrapeTokenHash = config.MMS_METRICS_TOKEN ? sha256(config.MMS_METRICS_TOKEN) : null;
  }

  /** 401 without a valid credential; 403 for a valid one that is not allowed here (a tenant's key or token). */
  async assertMayScrape(authorization: string | undefined): Promise<void> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = match?.[1];
    // Both comparisons always run (on hashes, in constant time), so timing tells nothing.
    const isRoot = presented !== undefined && this.root.matches(presented);
    const isScraper = presented !== undefined && this.scrapeTokenHash !== null && timingSafeEqual(sha256(presented), this.scrapeTokenHash);
    if (isRoot || isScraper) return;
    if (presented !== undefined && (await this.isTenantCredential(presented))) {
      throw new ObservabilityError(ObservabilityErrorCode.Forbidden, "/metrics covers every tenant: it takes the root credential or MMS_METRICS_TOKEN, not a tenant's key or token");
    }
    throw new ObservabilityError(ObservabilityErrorCode.Unauthenticated, 'Send the root credential or MMS_METRICS_TOKEN as Authorization: Bearer <token>');
  }

  private async isTenantCredential(presented: string): Promise<boolean> {
    try {
      await this.credentials.resolve(presented);
      return true;
    } catch (error) {
      if (error instanceof AuthError) return false; // unknown, revoked or expired: no credential at all (401)
      throw error;
    }
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
