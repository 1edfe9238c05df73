import type { AuthContext } from '../../auth/auth-context';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { FeedbackService, LATE_ROW_MS } from './feedback.service';
import { sampledPredictionId, unsampledPredictionId } from './prediction-id';
import type { FeedbackUpdate, LoggedPrediction, LoggedShadowPrediction, PredictionLogRepository } from './prediction-log.repository';
import type { PredictionLogWriter } from './prediction-log.writer';

const TENANT = '0190a6f0-0000-7000-8000-00000000000a';
const ctx: AuthContext = { tenantId: TENANT, role: 'scorer', principal: 'key:k', keyId: 'k', via: 'key', modelScope: null };

/**
 * The log table as another replica fills it: rows written there later (`land`) are found only
 * from then on. Counts lookups, which is how these tests see waiting without measuring time.
 */
class OtherReplicaLog {
  rows: LoggedPrediction[] = [];
  idLookups: string[][] = [];
  keyLookups = 0;
  land(id: string, routingKey: string | null = null) {
    this.rows.push({ id, model: 'demand', version: 1, routingKey, predicted: { variable: [[4]] }, firstOutput: null });
  }
  async findPredictionsByIds(tenantId: string, ids: string[]) {
    this.idLookups.push(ids);
    return this.rows.filter((r) => tenantId === TENANT && ids.includes(r.id));
  }
  async findLatestPredictionsByKeys(tenantId: string, pairs: Array<{ model: string; key: string }>) {
    if (pairs.length) this.keyLookups++;
    return this.rows.filter((r) => tenantId === TENANT && pairs.some((p) => p.model === r.model && p.key === r.routingKey));
  }
  shadows: LoggedShadowPrediction[] = [];
  recorded: FeedbackUpdate[] = [];
  async findShadowsOf(tenantId: string, ids: string[]) {
    return this.shadows.filter((s) => tenantId === TENANT && ids.includes(s.shadowOf));
  }
  async recordFeedback(_tenantId: string, updates: FeedbackUpdate[]) {
    this.recorded.push(...updates);
  }
}

describe('FeedbackService, for predictions made on another replica', () => {
  let log: OtherReplicaLog;
  let service: FeedbackService;

  beforeEach(() => {
    jest.useFakeTimers();
    log = new OtherReplicaLog();
    const writer = { isPending: () => false, buffered: 0, flush: async () => undefined } as unknown as PredictionLogWriter;
    const metrics = { feedbackItem: () => undefined, observeFeedback: () => undefined } as unknown as ServiceMetrics;
    service = new FeedbackService(log as unknown as PredictionLogRepository, writer, metrics);
  });
  afterEach(() => jest.useRealTimers());

  it('waits for the row of a fresh prediction and records the actual once it lands', async () => {
    const id = sampledPredictionId();
    const answer = service.recordFeedback(ctx, { predictionId: id, actual: 4.5 });
    await jest.advanceTimersByTimeAsync(300);
    log.land(id);
    await jest.advanceTimersByTimeAsync(200);
    await expect(answer).resolves.toMatchObject({ predictionId: id, model: 'demand', values: 1 });
  });

  it('answers a model and key that finds nothing at once, saying a fresh prediction may not be logged yet', async () => {
    const answer = service.recordFeedback(ctx, { model: 'demand', key: '0042|2026-11-24', actual: 4.5 });
    await expect(answer).rejects.toMatchObject({ code: 'PREDICTION_NOT_FOUND', message: expect.stringContaining('may not be logged yet') });
    expect(log.keyLookups).toBe(1);
  });

  it('gives up when the row has had time to land, and says not found', async () => {
    const id = sampledPredictionId();
    const answer = service.recordFeedback(ctx, { predictionId: id, actual: 4.5 });
    const settled = expect(answer).rejects.toMatchObject({ code: 'PREDICTION_NOT_FOUND', details: { reason: 'not_found' } });
    await jest.advanceTimersByTimeAsync(LATE_ROW_MS + 200);
    await settled;
  });

  it('answers at once (no timer runs) for old, unsampled and unknown ids, and for a model and key', async () => {
    const result = await service.recordFeedback(ctx, {
      items: [
        { predictionId: sampledPredictionId(Date.now() - LATE_ROW_MS - 1), actual: 1 },
        { predictionId: unsampledPredictionId(), actual: 1 },
        { predictionId: 'not-an-id', actual: 1 },
        { model: 'nowhere', key: 'k', actual: 1 },
      ],
    });
    expect(result).toMatchObject({ recorded: 0, failed: 4 });
    expect(log.idLookups).toHaveLength(1);
  });

  it('waits once for a whole list, looking up every missing id together', async () => {
    const ids = Array.from({ length: 50 }, () => sampledPredictionId());
    const answer = service.recordFeedback(ctx, { items: ids.map((predictionId) => ({ predictionId, actual: 4 })) });
    await jest.advanceTimersByTimeAsync(250);
    for (const id of ids) log.land(id);
    await jest.advanceTimersByTimeAsync(200);
    await expect(answer).resolves.toMatchObject({ recorded: 50, failed: 0 });
    // The first look, then one look for all fifty per poll: not fifty waits one after another.
    expect(log.idLookups.length).toBeLessThanOrEqual(5);
    expect(log.idLookups.slice(1).every((batch) => batch.length === 50)).toBe(true);
  });

  it("scores a prediction's shadow answers with its actual, leaving out a shadow the actual does not fit", async () => {
    const id = sampledPredictionId(Date.now() - LATE_ROW_MS - 1);
    log.land(id);
    log.shadows.push(
      { id: 'shadow-fits', shadowOf: id, model: 'demand', version: 2, routingKey: null, predicted: { variable: [[6]] }, firstOutput: null },
      { id: 'shadow-other-shape', shadowOf: id, model: 'demand', version: 3, routingKey: null, predicted: { variable: [[6, 7]] }, firstOutput: null },
    );
    await expect(service.recordFeedback(ctx, { predictionId: id, actual: 5 })).resolves.toMatchObject({ version: 1, mae: 1 });
    expect(log.recorded.map((u) => [u.id, u.sums.absError])).toEqual([
      [id, 1],
      ['shadow-fits', 1],
    ]);
  });
});
