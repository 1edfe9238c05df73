import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { errorSums, qualityOf } from '../../src/observability/feedback/feedback-math';
import { PredictionLogRepository, PredictionRecord } from '../../src/observability/feedback/prediction-log.repository';
import { openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { createTenant } from '../support/registry-fixtures';

jest.setTimeout(60_000);

describe('PredictionLogRepository on a real database', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let repo: PredictionLogRepository;
  let tenant: string;
  let other: string;

  const record = (overrides: Partial<PredictionRecord> = {}): PredictionRecord => ({
    id: randomUUID(),
    tenantId: tenant,
    model: 'demand-0042',
    version: 1,
    routingKey: null,
    predicted: { variable: [[100]] },
    createdAt: new Date(),
    ...overrides,
  });

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    repo = new PredictionLogRepository(dataSource);
    tenant = await createTenant(dataSource);
    other = await createTenant(dataSource);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('writes a batch in one statement and finds predictions by id, in the tenant only', async () => {
    const rows = Array.from({ length: 3 }, (_, i) => record({ predicted: { variable: [[i]] } }));
    await repo.insertPredictions(rows);
    await repo.insertPredictions(rows.slice(0, 1)); // a retried batch is not an error
    const found = await repo.findPredictionsByIds(tenant, rows.map((r) => r.id));
    expect(found.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(found.find((r) => r.id === rows[2].id)).toMatchObject({ model: 'demand-0042', version: 1, predicted: { variable: [[2]] } });
    expect(await repo.findPredictionsByIds(other, rows.map((r) => r.id))).toEqual([]);
  });

  it('finds the latest prediction for a model and routing key', async () => {
    const key = `0042|${randomUUID()}`;
    const older = record({ routingKey: key, version: 1, createdAt: new Date(Date.now() - 60_000) });
    const newer = record({ routingKey: key, version: 2 });
    const elsewhere = record({ tenantId: other, routingKey: key, version: 3 });
    await repo.insertPredictions([older, newer, elsewhere]);
    expect((await repo.findLatestPredictionsByKeys(tenant, [{ model: 'demand-0042', key }])).map((r) => r.id)).toEqual([newer.id]);
    expect((await repo.findLatestPredictionsByKeys(other, [{ model: 'demand-0042', key }])).map((r) => r.id)).toEqual([elsewhere.id]);
    expect(await repo.findLatestPredictionsByKeys(tenant, [{ model: 'demand-0042', key: 'nobody' }])).toEqual([]);
  });

  it('sums feedback per version over a window, as computed by hand', async () => {
    const model = `quality-${randomUUID().slice(0, 8)}`;
    // v1: predicted 110 and 90 for actuals 100 and 100 → MAE 10, bias 0, MAPE 0.1
    // v2: predicted 50 for actual 40 → MAE 10, bias +10, MAPE 0.25
    const p1 = record({ model, version: 1, predicted: { variable: [[110]] } });
    const p2 = record({ model, version: 1, predicted: { variable: [[90]] } });
    const p3 = record({ model, version: 2, predicted: { variable: [[50]] } });
    const unscored = record({ model, version: 2, predicted: { variable: [[7]] } });
    await repo.insertPredictions([p1, p2, p3, unscored]);
    await repo.recordFeedback(tenant, [
      { id: p1.id, actual: 100, sums: errorSums([110], [100]) },
      { id: p2.id, actual: 100, sums: errorSums([90], [100]) },
      { id: p3.id, actual: [[40]], sums: errorSums([50], [40]) },
    ]);
    // another tenant cannot write feedback onto this tenant's rows
    await repo.recordFeedback(other, [{ id: unscored.id, actual: 0, sums: errorSums([7], [0]) }]);
    const rows = await repo.sumQualityByVersion(tenant, model, new Date(Date.now() - 3_600_000));
    expect(rows.map((r) => [r.version, r.count, r.sums.values])).toEqual([
      [1, 2, 2],
      [2, 1, 1],
    ]);
    expect(qualityOf(rows[0].sums)).toEqual({ mae: 10, mape: 0.1, bias: 0, rmse: 10 });
    expect(qualityOf(rows[1].sums)).toEqual({ mae: 10, mape: 0.25, bias: 10, rmse: 10 });
    expect(await repo.sumQualityByVersion(tenant, model, new Date(Date.now() + 60_000))).toEqual([]);
    expect(await repo.sumQualityByVersion(other, model, new Date(0))).toEqual([]);
    const [stored] = (await dataSource.query('SELECT actual, feedback_at FROM prediction_log WHERE id = $1', [p3.id])) as Array<{ actual: unknown; feedback_at: Date }>;
    expect(stored.actual).toEqual([[40]]);
    expect(stored.feedback_at).toBeInstanceOf(Date);
  });

  it('purges predictions past retention, and a deleted model’s predictions', async () => {
    const model = `old-${randomUUID().slice(0, 8)}`;
    const old = Array.from({ length: 5 }, () => record({ model, createdAt: new Date(Date.now() - 40 * 86_400_000) }));
    const fresh = record({ model });
    await repo.insertPredictions([...old, fresh]);
    expect(await repo.purgePredictionsBefore(new Date(Date.now() - 30 * 86_400_000))).toBeGreaterThanOrEqual(5);
    expect((await repo.findPredictionsByIds(tenant, [...old, fresh].map((r) => r.id))).map((r) => r.id)).toEqual([fresh.id]);
    await repo.deleteModelPredictions(tenant, model);
    expect(await repo.findPredictionsByIds(tenant, [fresh.id])).toEqual([]);
  });

  it("deletes a model's predictions through an index, not by reading the whole log", async () => {
    // Without an index on (tenant_id, model) the only plan left with sequential scans off is a scan of a whole index with a filter.
    const plan = await dataSource.transaction(async (m) => {
      await m.query('SET LOCAL enable_seqscan = off');
      return ((await m.query(`EXPLAIN DELETE FROM prediction_log WHERE tenant_id = $1 AND model = $2`, [tenant, 'demand-0042'])) as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index (Only )?Scan using prediction_log_model_idx|Bitmap Index Scan on prediction_log_model_idx/);
    expect(plan).toMatch(/Index Cond: \(\(tenant_id = .*\) AND \(model = /);
  });

  it('tells whether a model exists in a tenant and names models by id', async () => {
    const [row] = (await dataSource.query(`INSERT INTO models (tenant_id, name) VALUES ($1, 'named-model') RETURNING id`, [tenant])) as Array<{ id: string }>;
    expect(await repo.modelExists(tenant, 'named-model')).toBe(true);
    expect(await repo.modelExists(other, 'named-model')).toBe(false);
    expect(await repo.findModelNames([row.id, randomUUID(), 'not-a-uuid'])).toEqual(new Map([[row.id, { tenantId: tenant, name: 'named-model' }]]));
  });
});
