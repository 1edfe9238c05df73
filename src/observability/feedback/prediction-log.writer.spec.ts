import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import { ServiceMetrics } from '../metrics/service-metrics';
import type { PredictionLogRepository, PredictionRecord } from './prediction-log.repository';
import { isSampledPredictionId } from './prediction-id';
import { countValues, LOG_BATCH_ROWS, LOG_MAX_BUFFERED, LOG_MAX_VALUES, PredictionLogWriter } from './prediction-log.writer';

/** A table in memory that can be made to fail (the writer's contract with it is all this tests). */
class FakeRepository {
  rows: PredictionRecord[] = [];
  inserts = 0;
  failWith: (Error & { code?: string }) | null = null;
  /** Refuses any insert that holds one of these routing keys, as PostgreSQL refuses a NUL character. */
  refusedKeys = new Set<string>();
  async insertPredictions(records: PredictionRecord[]): Promise<void> {
    this.inserts++;
    if (this.failWith) throw this.failWith;
    if (records.some((r) => r.routingKey !== null && this.refusedKeys.has(r.routingKey))) {
      throw Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
    }
    this.rows.push(...records);
  }
}

function metricValue(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(' ').pop()) : 0;
}

describe('PredictionLogWriter', () => {
  let repo: FakeRepository;
  let metrics: ServiceMetrics;
  const make = (rate = 1, perSecond = 0) =>
    new PredictionLogWriter(repo as unknown as PredictionLogRepository, metrics, { MMS_PREDICTION_LOG_RATE: rate, MMS_PREDICTION_LOG_MAX_PER_SECOND: perSecond } as AppConfig);
  /** The id of the i-th sampled prediction (a UUIDv7, as the writer issues them). */
  const id = (i: number) => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;
  const prediction = (i: number, predicted: Record<string, unknown> = { variable: [[i]] }) => ({ id: id(i), tenantId: 't', model: 'm', version: 1, routingKey: null, predicted });

  beforeAll(() => Logger.overrideLogger(false)); // the writer's warnings are expected here

  beforeEach(() => {
    repo = new FakeRepository();
    metrics = new ServiceMetrics({ maxModels: 1, defaultMetrics: false });
  });

  it('buffers predictions and writes them in batches', async () => {
    const writer = make();
    for (let i = 0; i < 3; i++) writer.record(prediction(i));
    expect(writer.buffered).toBe(3);
    expect(writer.isPending([id(1)])).toBe(true);
    await writer.flush();
    expect(repo.rows.map((r) => r.id)).toEqual([id(0), id(1), id(2)]);
    expect(writer.isPending([id(1)])).toBe(false);
    expect(metricValue(await metrics.render(), 'mms_prediction_log_written_total')).toBe(3);
  });

  it("logs a shadow's answer under an id of its own, beside a sampled prediction only, and feedback for the prediction waits for it", async () => {
    const writer = make();
    writer.record(prediction(1));
    await writer.flush();
    const shadow = { tenantId: 't', model: 'm', version: 2, predicted: { variable: [[9]] } };
    writer.recordShadow(id(1), shadow);
    writer.recordShadow('8d3f0c2e-1b7a-4c55-9e0f-2a6b1c3d4e5f', shadow); // a prediction not sampled: nothing to score
    expect(writer.buffered).toBe(1);
    expect(writer.isPending([id(1)])).toBe(true);
    await writer.flush();
    expect(writer.isPending([id(1)])).toBe(false);
    const [row] = repo.rows.slice(1);
    expect(row).toMatchObject({ shadowOf: id(1), version: 2, routingKey: null, predicted: { variable: [[9]] } });
    expect(isSampledPredictionId(row.id)).toBe(true);
    expect(row.id).not.toBe(id(1));
  });

  it("spends the per-second budget on a shadow's answer as on any row: none left, it is skipped", () => {
    const writer = make(1, 1);
    const predictionId = writer.issueIdFor(1);
    expect(isSampledPredictionId(predictionId)).toBe(true);
    writer.record({ ...prediction(0), id: predictionId });
    writer.recordShadow(predictionId, { tenantId: 't', model: 'm', version: 2, predicted: { variable: [[9]] } });
    expect(writer.buffered).toBe(1);
  });

  it('starts a write as soon as a batch is full', async () => {
    const writer = make();
    for (let i = 0; i < LOG_BATCH_ROWS; i++) writer.record(prediction(i));
    await writer.flush();
    expect(repo.inserts).toBe(1);
  });

  it('samples at the configured rate, and says so in the id', () => {
    const random = jest.spyOn(Math, 'random');
    const writer = make(0.25);
    random.mockReturnValueOnce(0.1).mockReturnValueOnce(0.9);
    const [sampled, skipped] = [writer.issueId(), writer.issueId()];
    random.mockRestore();
    expect(isSampledPredictionId(sampled)).toBe(true);
    expect(isSampledPredictionId(skipped)).toBe(false);
    writer.record({ ...prediction(1), id: sampled });
    writer.record({ ...prediction(2), id: skipped });
    expect(writer.buffered).toBe(1);
    expect(isSampledPredictionId(make(0).issueId())).toBe(false);
  });

  it('logs at most the per-second budget: one second of it at once, then a steady share', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const writer = make(1, 100);
    const burst = Array.from({ length: 150 }, () => writer.issueId());
    expect(burst.filter(isSampledPredictionId)).toHaveLength(100);
    now.mockReturnValue(1_000_500); // half a second later: half a budget more
    expect(Array.from({ length: 100 }, () => writer.issueId()).filter(isSampledPredictionId)).toHaveLength(50);
    now.mockRestore();
    expect(metricValue(await metrics.render(), 'mms_prediction_log_skipped_total')).toBe(100);
  });

  it('gives an answer too big for the log an id that says so, without spending the budget', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const writer = make(1, 1);
    expect(isSampledPredictionId(writer.issueIdFor(LOG_MAX_VALUES + 1))).toBe(false);
    expect(isSampledPredictionId(writer.issueIdFor(LOG_MAX_VALUES))).toBe(true); // the budget's one id is still there
    expect(isSampledPredictionId(writer.issueIdFor(1))).toBe(false); // and now spent
    now.mockRestore();
    const text = await metrics.render();
    expect(metricValue(text, 'mms_prediction_log_dropped_total{reason="too_large"}')).toBe(1);
    expect(metricValue(text, 'mms_prediction_log_skipped_total')).toBe(1);
    // With the log off nothing is sampled, so nothing counts as dropped for its size.
    expect(isSampledPredictionId(make(0).issueIdFor(LOG_MAX_VALUES + 1))).toBe(false);
    expect(metricValue(await metrics.render(), 'mms_prediction_log_dropped_total{reason="too_large"}')).toBe(1);
  });

  it('never logs big outputs, and counts them', async () => {
    const writer = make();
    writer.record(prediction(1, { variable: Array.from({ length: LOG_MAX_VALUES + 1 }, () => [1]) }));
    expect(writer.buffered).toBe(0);
    expect(metricValue(await metrics.render(), 'mms_prediction_log_dropped_total{reason="too_large"}')).toBe(1);
  });

  it('keeps predictions while the database is away, drops (and counts) what does not fit, and writes the rest once it is back', async () => {
    const writer = make();
    repo.failWith = Object.assign(new Error('connection terminated'), {});
    writer.record(prediction(0));
    await writer.flush(); // fails: the row stays, and writes back off (no write per full batch meanwhile)
    expect(writer.buffered).toBe(1);
    for (let i = 1; i < LOG_MAX_BUFFERED + 5; i++) writer.record(prediction(i));
    expect(writer.buffered).toBe(LOG_MAX_BUFFERED);
    expect(repo.inserts).toBe(1);
    let text = await metrics.render();
    expect(metricValue(text, 'mms_prediction_log_dropped_total{reason="buffer_full"}')).toBe(5);
    expect(metricValue(text, 'mms_prediction_log_flush_failures_total')).toBe(1);
    repo.failWith = null;
    await writer.flush();
    expect(writer.buffered).toBe(0);
    expect(repo.rows).toHaveLength(LOG_MAX_BUFFERED);
    expect(repo.rows[0].id).toBe(id(0)); // order kept across the failure
    text = await metrics.render();
    expect(metricValue(text, 'mms_prediction_log_written_total')).toBe(LOG_MAX_BUFFERED);
  });

  it('drops a batch the database refuses for its data (it would never be accepted)', async () => {
    const writer = make();
    repo.failWith = Object.assign(new Error('violates foreign key constraint'), { code: '23503' });
    writer.record(prediction(1));
    await writer.flush();
    expect(writer.buffered).toBe(0);
    expect(writer.isPending([id(1)])).toBe(false);
    expect(metricValue(await metrics.render(), 'mms_prediction_log_dropped_total{reason="write_failed"}')).toBe(1);
  });

  it('drops only the rows the database refuses, never the rest of their batch', async () => {
    const writer = make();
    repo.refusedKeys = new Set(['bad-1', 'bad-2']);
    for (let i = 0; i < 300; i++) writer.record({ ...prediction(i), routingKey: i === 17 ? 'bad-1' : i === 250 ? 'bad-2' : `k${i}` });
    await writer.flush();
    expect(repo.rows).toHaveLength(298);
    expect(repo.rows.map((r) => r.routingKey)).not.toContain('bad-1');
    expect(writer.isPending([id(17), id(250), id(18)])).toBe(false);
    const text = await metrics.render();
    expect(metricValue(text, 'mms_prediction_log_written_total')).toBe(298);
    expect(metricValue(text, 'mms_prediction_log_dropped_total{reason="write_failed"}')).toBe(2);
    // Halving finds each refused row in about log2(300) inserts, not one insert per row.
    expect(repo.inserts).toBeLessThan(40);
  });

  it('counts leaves without walking past the limit', () => {
    expect(countValues({ a: [[1, 2], [3]], b: [true] }, 100)).toBe(4);
    expect(countValues({ a: Array.from({ length: 10_000 }, () => 1) }, 5)).toBe(5);
  });
});
