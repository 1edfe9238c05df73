import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { PredictionLogRepository } from './prediction-log.repository';

const FIRST_PURGE_MS = 60_000;
const PURGE_EVERY_MS = 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

/**
 * Deletes logged predictions (and their feedback) older than MMS_PREDICTION_LOG_RETENTION_DAYS,
 * a minute after start and then hourly, in chunks. Every replica purges; they skip each
 * other's rows. A failed purge (database away) is simply tried again at the next hour.
 */
@Injectable()
export class PredictionLogRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('PredictionLog');
  private timer?: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly repository: PredictionLogRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setTimeout(() => this.tick(), FIRST_PURGE_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Deletes what is past retention now; answers the rows deleted. */
  purge(now = new Date()): Promise<number> {
    this.running ??= this.repository.purgePredictionsBefore(new Date(now.getTime() - this.config.MMS_PREDICTION_LOG_RETENTION_DAYS * DAY_MS)).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private tick(): void {
    this.purge()
      .then((deleted) => {
        if (deleted) this.logger.log(`purged ${deleted} logged predictions older than ${this.config.MMS_PREDICTION_LOG_RETENTION_DAYS} days`);
      })
      .catch((error: Error) => this.logger.warn(`purging the prediction log failed: ${error.message}`))
      .finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(() => this.tick(), PURGE_EVERY_MS);
        this.timer.unref();
      });
  }
}
