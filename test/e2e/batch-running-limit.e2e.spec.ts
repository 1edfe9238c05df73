import { defaultFixtures, RETAIL_FEATURES, randomRows } from '../fixtures/onnx-builder';
import { waitForJob, writeInput } from '../support/batch-data';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(180_000);

const FEATURES = [...RETAIL_FEATURES];
const { linear } = defaultFixtures();

/** MMS_TENANT_MAX_RUNNING_BATCH_JOBS through the API: a tenant's burst of jobs runs one at a time here, oldest first. */
describe('batch jobs beyond the tenant limit of running jobs', () => {
  let t: TestApp;
  const job = { input: { uri: 'in/limit.csv', format: 'csv' }, route: { by: 'model', column: 'model' }, features: FEATURES, passthrough: ['id'], output: { format: 'csv' }, maxConcurrency: 1 };
  const asOther = { 'x-tenant': 'limit-other' };

  beforeAll(async () => {
    t = await startTestApp({ MMS_TENANT_MAX_RUNNING_BATCH_JOBS: '1', MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '500' });
    expect((await t.request('POST', '/v1/tenants', { body: { name: 'limit-other' } })).status).toBe(201);
    for (const headers of [{}, asOther]) expect((await t.request('POST', '/v1/models/demand-linear/versions', { body: artifactForm(linear.bytes), headers })).status).toBe(201);
    // 20 partitions of 500 rows, one at a time: a job runs long enough for the others to queue behind it.
    const rows = randomRows(10_000, FEATURES.length, 7, 0, 60).map((f, i) => ({ id: `r${i}`, model: 'demand-linear', ...Object.fromEntries(FEATURES.map((name, j) => [name, f[j]])) }));
    writeInput(t, 'in/limit.csv', 'csv', rows, ['id', 'model', ...FEATURES]);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('keeps the later jobs queued with the reason, runs them in order without overlap, and does not hold up another tenant', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.request('POST', '/v1/batch-jobs', { body: job });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    const waitingSeen = await waitForJob(t, ids[2], (j) => j.waiting !== null || j.status !== 'queued');
    expect([waitingSeen.status, waitingSeen.waiting]).toEqual(['queued', expect.stringContaining('MMS_TENANT_MAX_RUNNING_BATCH_JOBS')]);
    const other = await t.request('POST', '/v1/batch-jobs', { body: job, headers: asOther });
    expect(other.status).toBe(202);

    const done = [];
    for (const id of ids) done.push(await waitForJob(t, id, undefined, 150_000));
    let otherDone = (await t.request('GET', `/v1/batch-jobs/${other.body.id}`, { headers: asOther })).body;
    while (otherDone.status !== 'succeeded') {
      expect(['queued', 'running']).toContain(otherDone.status);
      await new Promise((r) => setTimeout(r, 150));
      otherDone = (await t.request('GET', `/v1/batch-jobs/${other.body.id}`, { headers: asOther })).body;
    }
    expect([...done, otherDone].map((j) => [j.status, j.waiting])).toEqual(Array(4).fill(['succeeded', null]));
    for (let i = 1; i < done.length; i++) expect(Date.parse(done[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(done[i - 1].finishedAt));
    // The other tenant's job, submitted last, started before the third of the busy tenant's.
    expect(Date.parse(otherDone.startedAt)).toBeLessThan(Date.parse(done[2].startedAt));
  });

  it("takes the tenant's own maxRunningBatchJobs (PATCH /v1/tenants/{id}) over the default, and null restores the default", async () => {
    const other = (await t.request('GET', '/v1/tenants')).body.items.find((x: { name: string }) => x.name === 'limit-other').id as string;
    expect((await t.request('PATCH', `/v1/tenants/${other}`, { body: { maxRunningBatchJobs: -1 } })).status).toBe(400);
    expect((await t.request('PATCH', `/v1/tenants/${other}`, { body: { maxRunningBatchJobs: 2 } })).body.limits.maxRunningBatchJobs).toBe(2);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.request('POST', '/v1/batch-jobs', { body: job, headers: asOther })).body.id);
    let third = (await t.request('GET', `/v1/batch-jobs/${ids[2]}`, { headers: asOther })).body;
    const seen = new Set<string>();
    while (!['succeeded', 'failed', 'cancelled'].includes(third.status)) {
      if (third.waiting) seen.add(third.waiting);
      await new Promise((r) => setTimeout(r, 50));
      third = (await t.request('GET', `/v1/batch-jobs/${ids[2]}`, { headers: asOther })).body;
    }
    expect(third.status).toBe('succeeded');
    // Held by the limit (and, before the older two had started, possibly behind them): either way the tenant's own 2.
    expect([...seen].every((why) => why.includes('at most 2 run at once'))).toBe(true);
    expect([...seen]).toContainEqual(expect.stringContaining('2 jobs of this tenant are running'));
    const first = (await t.request('GET', `/v1/batch-jobs/${ids[0]}`, { headers: asOther })).body;
    const second = (await t.request('GET', `/v1/batch-jobs/${ids[1]}`, { headers: asOther })).body;
    // Two ran side by side; the third started only when one of them had ended.
    expect(Date.parse(second.startedAt)).toBeLessThan(Date.parse(first.finishedAt));
    expect(Date.parse(third.startedAt)).toBeGreaterThanOrEqual(Math.min(Date.parse(first.finishedAt), Date.parse(second.finishedAt)));
    expect((await t.request('PATCH', `/v1/tenants/${other}`, { body: { maxRunningBatchJobs: null } })).body.limits.maxRunningBatchJobs).toBe(1);
  });

  it('keeps a retried job waiting while the tenant is at its limit, then resumes its failed partitions', async () => {
    // Rows for a model not registered yet: the job leaves them out, and a retry once it is registered scores them.
    const rows = randomRows(20, FEATURES.length, 9, 0, 60).map((f, i) => ({ id: `l${i}`, model: 'demand-later', ...Object.fromEntries(FEATURES.map((name, j) => [name, f[j]])) }));
    writeInput(t, 'in/later.csv', 'csv', rows, ['id', 'model', ...FEATURES]);
    const failing = (await t.request('POST', '/v1/batch-jobs', { body: { ...job, input: { uri: 'in/later.csv', format: 'csv' } } })).body.id as string;
    const leftOut = await waitForJob(t, failing);
    expect([leftOut.status, leftOut.output.rows]).toEqual(['succeeded', 0]);
    expect((await t.request('POST', '/v1/models/demand-later/versions', { body: artifactForm(linear.bytes) })).status).toBe(201);

    const long = (await t.request('POST', '/v1/batch-jobs', { body: job })).body.id as string;
    await waitForJob(t, long, (j) => j.status !== 'queued');
    const retried = await t.request('POST', `/v1/batch-jobs/${failing}/retry`);
    expect(retried.status).toBe(202);
    expect([retried.body.status, retried.body.waiting]).toEqual(['queued', expect.stringContaining('at most 1 run at once')]);
    const longDone = await waitForJob(t, long, undefined, 150_000);
    const done = await waitForJob(t, failing, undefined, 150_000);
    expect([longDone.status, done.status, done.output.rows]).toEqual(['succeeded', 'succeeded', 20]);
    // It scored only once the running job had ended.
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(longDone.finishedAt));
  });
});
