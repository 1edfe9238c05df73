import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModelsRepository } from '../models.repository';
import { ModelStore } from './model-store';

const SWEEP_EVERY_MS = 60 * 60 * 1000;
/** Blobs younger than this are spared: an upload may be between its blob commit and its row insert. */
const GRACE_MS = 60 * 60 * 1000;

/** Removes artifacts that no version references any more (deleted versions, failed uploads). */
@Injectable()
export class StoreSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ModelStore');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: ModelStore,
    private readonly models: ModelsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(graceMs = GRACE_MS): Promise<number> {
    try {
      const removed = await this.store.sweep((sha) => this.models.isArtifactReferenced(sha), graceMs);
      if (removed) this.logger.log(`removed ${removed} unreferenced artifact(s)`);
      return removed;
    } catch (error) {
      this.logger.warn(`sweep failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
