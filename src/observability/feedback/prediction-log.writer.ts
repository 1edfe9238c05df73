import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { ServiceMetrics } from '../metrics/service-metrics';
import { isSampledPredictionId, sampledPredictionId, unsampledPredictionId } from './prediction-id';
import { PredictionLogRepository, PredictionRecord } from './prediction-log.repository';

/** Rows per INSERT. */
export const LOG_BATCH_ROWS = 1000;
/** Predictions held in memory at most; beyond it new ones are dropped (and counted). */
export const LOG_MAX_BUFFERED = 20_000;
/** Outputs with more values than this are not logged (a big batch call is not a forecast to score). */
export const LOG_MAX_VALUES = 1024;
/** How often the buffer is written (when the database answers). */
export const FLUSH_EVERY_MS = 1000;
const RETRY_MAX_MS = 30_000;
const SHUTDOWN_FLUSH_MS = 3000;

/**
 * The sampled prediction log, written off the request path: predictions are sampled
 * (MMS_PREDICTION_LOG_RATE, then at most MMS_PREDICTION_LOG_MAX_PER_SECOND), buffered in
 * memory and inserted in batches every second (or at once when a batch is full). A prediction
 * never waits for, or fails because of, the log: when the database is away the buffer keeps
 * what it can, drops the rest (counted), and writing resumes with a backoff once the database
 * answers again.
 *
 * Why a budget: a logged row costs the database tens of microseconds of CPU (and the embedded
 * one runs on the HTTP thread), about as much as the rest of a small prediction. Up to the
 * budget every prediction is logged; beyond it the log keeps a steady sample of the traffic
 * and the cost per prediction falls instead of growing with it.
 */
@Injectable()
export class PredictionLogWriter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('PredictionLog');
  private buffer: PredictionRecord[] = [];
  /** Ids buffered or being written: feedback for them waits for the write. */
  private readonly pending = new Set<string>();
  /** Shadow answers buffered or being written, counted by the id of the prediction they shadow. */
  private readonly pendingShadows = new Map<string, number>();
  private flushing: Promise<void> | null = null;
  private timer?: NodeJS.Timeout;
  private retryAt = 0;
  private backoffMs = 0;
  /** The per-second budget, as a token bucket that holds at most one second's worth. */
  private budget: number;
  private budgetAt = Date.now();

  constructor(
    private readonly repository: PredictionLogRepository,
    private readonly metrics: ServiceMetrics,
    private readonly config: AppConfig,
  ) {
    this.budget = config.MMS_PREDICTION_LOG_MAX_PER_SECOND ?? 0;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.buffer.length && Date.now() >= this.retryAt) void this.flush();
    }, FLUSH_EVERY_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.buffer.length && !this.flushing) return;
    await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS).unref())]);
  }

  /**
   * Hot path: the id of a new prediction, which carries the sampling decision (see
   * prediction-id.ts): `record` logs only predictions whose id was issued as sampled.
   */
  issueId(): string {
    return this.issueIdFor(0);
  }

  /**
   * The id of a prediction whose answer holds `values` values: one the rate samples but too big
   * for the log (more than LOG_MAX_VALUES) is counted as such and gets an id that says it was not
   * logged, spending none of the per-second budget.
   */
  issueIdFor(values: number): string {
    const rate = this.config.MMS_PREDICTION_LOG_RATE;
    if (rate <= 0 || (rate < 1 && Math.random() >= rate)) return unsampledPredictionId();
    if (values > LOG_MAX_VALUES) {
      this.metrics.predictionLogDropped('too_large');
      return unsampledPredictionId();
    }
    const now = Date.now();
    return this.spendBudget(now) ? sampledPredictionId(now) : unsampledPredictionId();
  }

  /** One row of the per-second budget, if there is one left (counted as skipped if not). */
  private spendBudget(now: number): boolean {
    const perSecond = this.config.MMS_PREDICTION_LOG_MAX_PER_SECOND ?? 0;
    if (perSecond <= 0) return true;
    this.budget = Math.min(perSecond, this.budget + ((now - this.budgetAt) / 1000) * perSecond);
    this.budgetAt = now;
    if (this.budget < 1) {
      this.metrics.predictionLogSkipped();
      return false;
    }
    this.budget -= 1;
    return true;
  }

  /** Hot path: a sampled prediction goes into the buffer; never throws, never waits. */
  record(prediction: Omit<PredictionRecord, 'createdAt'>): void {
    if (!isSampledPredictionId(prediction.id)) return;
    if (countValues(prediction.predicted, LOG_MAX_VALUES + 1) > LOG_MAX_VALUES) {
      this.metrics.predictionLogDropped('too_large');
      return;
    }
    if (this.buffer.length >= LOG_MAX_BUFFERED) {
      this.metrics.predictionLogDropped('buffer_full');
      return;
    }
    const p = prediction;
    this.buffer.push({ id: p.id, tenantId: p.tenantId, model: p.model, version: p.version, routingKey: p.routingKey, predicted: p.predicted, createdAt: new Date() });
    this.pending.add(prediction.id);
    if (this.buffer.length >= LOG_BATCH_ROWS && !this.flushing && Date.now() >= this.retryAt) void this.flush();
  }

  /**
   * What the shadow version answered to a mirrored request, once it has: logged (under an id of
   * its own) when the prediction the client got was, so that the actual sent for that prediction
   * scores the shadow too. It is a row like any other for the per-second budget (a mirror of all
   * traffic would otherwise double the log's cost): without budget left it is skipped.
   */
  recordShadow(shadowOf: string, shadow: { tenantId: string; model: string; version: number; predicted: Record<string, unknown> }): void {
    if (!isSampledPredictionId(shadowOf)) return;
    if (countValues(shadow.predicted, LOG_MAX_VALUES + 1) > LOG_MAX_VALUES) return;
    if (this.buffer.length >= LOG_MAX_BUFFERED) {
      this.metrics.predictionLogDropped('buffer_full');
      return;
    }
    const now = Date.now();
    if (!this.spendBudget(now)) return;
    const id = sampledPredictionId(now);
    this.buffer.push({ id, tenantId: shadow.tenantId, model: shadow.model, version: shadow.version, routingKey: null, predicted: shadow.predicted, createdAt: new Date(), shadowOf });
    this.pending.add(id);
    this.pendingShadows.set(shadowOf, (this.pendingShadows.get(shadowOf) ?? 0) + 1);
  }

  /** A buffered row written or dropped: feedback no longer waits for it. */
  private settle(row: PredictionRecord): void {
    this.pending.delete(row.id);
    if (!row.shadowOf) return;
    const left = (this.pendingShadows.get(row.shadowOf) ?? 1) - 1;
    if (left > 0) this.pendingShadows.set(row.shadowOf, left);
    else this.pendingShadows.delete(row.shadowOf);
  }

  /**
   * A deleted model's predictions still buffered are dropped, and a write under way (which may
   * hold some, or put them back when it fails) is waited for: the purge of the model's log that
   * follows then finds every row, and none is written after it to count as a prediction of a
   * model registered again under the name.
   */
  async forgetModel(tenantId: string, model: string): Promise<void> {
    this.dropBuffered(tenantId, model);
    await this.flushing;
    this.dropBuffered(tenantId, model);
  }

  private dropBuffered(tenantId: string, model: string): void {
    this.buffer = this.buffer.filter((r) => {
      const kept = r.tenantId !== tenantId || r.model !== model;
      if (!kept) this.settle(r);
      return kept;
    });
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Whether any of these predictions, or a shadow answer to one of them, is still on its way to the table. */
  isPending(ids: readonly string[]): boolean {
    return ids.some((id) => this.pending.has(id) || this.pendingShadows.has(id));
  }

  /** Writes everything buffered now (joining a write in progress); resolves even when it fails. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length) {
      const batch = this.buffer.splice(0, LOG_BATCH_ROWS);
      const unwritten = await this.write(batch);
      if (unwritten) {
        this.failed(unwritten.rows, unwritten.error);
        return;
      }
      if (this.backoffMs) this.logger.log('prediction log writes resumed');
      this.backoffMs = 0;
      this.retryAt = 0;
    }
  }

  /**
   * Inserts the rows. A batch the database refuses for its data (a value it cannot store, a
   * tenant deleted meanwhile) is split in halves until the refused rows are alone, so that one
   * bad row never costs the others (other tenants' among them); those rows are dropped, as they
   * would never be accepted. Answers the rows left unwritten by any other failure, to retry.
   */
  private async write(rows: PredictionRecord[]): Promise<{ rows: PredictionRecord[]; error: Error } | null> {
    try {
      await this.repository.insertPredictions(rows);
    } catch (caught) {
      const error = caught as Error & { code?: string };
      if (!isRefusedData(error)) return { rows, error };
      if (rows.length === 1) {
        this.drop(rows, error);
        return null;
      }
      const half = rows.length >> 1;
      const first = await this.write(rows.slice(0, half));
      if (first) return { rows: [...first.rows, ...rows.slice(half)], error: first.error };
      return this.write(rows.slice(half));
    }
    for (const r of rows) this.settle(r);
    this.metrics.predictionLogWritten(rows.length);
    return null;
  }

  private drop(rows: PredictionRecord[], error: Error): void {
    this.metrics.predictionLogFlushFailed();
    for (const r of rows) this.settle(r);
    this.metrics.predictionLogDropped('write_failed', rows.length);
    this.logger.warn(`dropped ${rows.length} prediction log row${rows.length === 1 ? '' : 's'}: ${error.message}`);
  }

  /** A failure that may pass (the database away or slow): keep what fits, retry with a backoff. */
  private failed(batch: PredictionRecord[], error: Error): void {
    this.metrics.predictionLogFlushFailed();
    const room = Math.max(0, LOG_MAX_BUFFERED - this.buffer.length);
    const kept = batch.slice(0, room);
    const dropped = batch.slice(room);
    for (const r of dropped) this.settle(r);
    if (dropped.length) this.metrics.predictionLogDropped('write_failed', dropped.length);
    this.buffer.unshift(...kept);
    if (!this.backoffMs) this.logger.warn(`prediction log writes failing (kept in memory, retried): ${error.message}`);
    this.backoffMs = Math.min(RETRY_MAX_MS, this.backoffMs ? this.backoffMs * 2 : FLUSH_EVERY_MS);
    this.retryAt = Date.now() + this.backoffMs;
  }
}

/** PostgreSQL refused the rows for their data (classes 22 and 23): they will never be accepted. */
function isRefusedData(error: { code?: string }): boolean {
  return typeof error.code === 'string' && /^(22|23)/.test(error.code);
}

/** Numbers (and other leaves) in nested arrays and objects, counting no further than `stopAt`. */
export function countValues(value: unknown, stopAt: number): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (n >= stopAt) return;
    if (Array.isArray(v)) for (const item of v) walk(item);
    else if (v !== null && typeof v === 'object') for (const item of Object.values(v)) walk(item);
    else n++;
  };
  walk(value);
  return n;
}
