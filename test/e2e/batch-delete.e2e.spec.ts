import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultFixtures, RETAIL_FEATURES, randomRows } from '../fixtures/onnx-builder';
import { Row, waitForJob, writeInput } from '../support/batch-data';
import { runCli, tempHome } from '../support/cli';
import { withClient } from '../support/test-database';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const FEATURES = [...RETAIL_FEATURES];
const { linear } = defaultFixtures();

function makeRows(count: number, seed: number, model: (i: number) => string): Row[] {
  return randomRows(count, FEATURES.length, seed, 0, 60).map((f, i) => ({ id: `r${i}`, model: model(i), ...Object.fromEntries(FEATURES.map((name, j) => [name, f[j]])) }));
}

describe('DELETE /v1/batch-jobs/{id}', () => {
  let t: TestApp;
  const job = (uri: string, over: Record<string, unknown> = {}) => ({
    input: { uri, format: 'csv' },
    route: { by: 'model', column: 'model' },
    features: FEATURES,
    passthrough: ['id'],
    output: { format: 'csv' },
    ...over,
  });
  /** The job's directory under the data directory: `batch/<tenant>/<job>/`. */
  const jobDirOf = (tenantId: string, id: string) => path.join(t.dataDir, 'batch', tenantId, id);
  let defaultTenant: string;

  /** Rows the database still has for the job (checked directly on PostgreSQL; the embedded one belongs to the server). */
  async function ledgerRows(id: string): Promise<number | null> {
    if (!t.env.DATABASE_URL) return null;
    return withClient(t.env.DATABASE_URL, async (c) => {
      const { rows } = await c.query(`SELECT (SELECT count(*) FROM batch_jobs WHERE id = $1) + (SELECT count(*) FROM batch_partitions WHERE job_id = $1) AS n`, [id]);
      return Number(rows[0].n);
    });
  }

  async function runToEnd(uri: string, over: Record<string, unknown> = {}) {
    const res = await t.request('POST', '/v1/batch-jobs', { body: job(uri, over) });
    expect(res.status).toBe(202);
    return waitForJob(t, res.body.id);
  }

  beforeAll(async () => {
    t = await startTestApp({ MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '400', MMS_BATCH_LEASE_SECONDS: '4' });
    expect((await t.request('POST', '/v1/models/demand-linear/versions', { body: artifactForm(linear.bytes) })).status).toBe(201);
    writeInput(t, 'in/small.csv', 'csv', makeRows(900, 1, () => 'demand-linear'), ['id', 'model', ...FEATURES]);
    defaultTenant = (await t.request('GET', '/v1/tenants')).body.items.find((x: { name: string }) => x.name === 'default').id;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('deletes a succeeded job: its directory with the committed output and its rows go, and it answers 404 after', async () => {
    const done = await runToEnd('in/small.csv');
    expect(done.status).toBe('succeeded');
    const dir = jobDirOf(defaultTenant, done.id);
    expect(fs.existsSync(path.join(t.dataDir, done.output.location))).toBe(true);
    expect(path.join(t.dataDir, done.output.location).startsWith(dir + path.sep)).toBe(true);

    const res = await t.request('DELETE', `/v1/batch-jobs/${done.id}`);
    expect([res.status, res.body]).toEqual([204, undefined]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(await ledgerRows(done.id)).toBe(t.env.DATABASE_URL ? 0 : null);
    for (const p of [`/v1/batch-jobs/${done.id}`, `/v1/batch-jobs/${done.id}/output`, `/v1/batch-jobs/${done.id}/manifest`]) {
      const gone = await t.request('GET', p);
      expect([p, gone.status, gone.body.error.code]).toEqual([p, 404, 'JOB_NOT_FOUND']);
    }
    expect((await t.request('GET', '/v1/batch-jobs?limit=500')).body.items.map((j: { id: string }) => j.id)).not.toContain(done.id);
    const again = await t.request('DELETE', `/v1/batch-jobs/${done.id}`);
    expect([again.status, again.body.error.code]).toEqual([404, 'JOB_NOT_FOUND']);
  });

  it('deletes a failed job together with the staging area it kept for a retry', async () => {
    writeInput(t, 'in/missing.csv', 'csv', makeRows(300, 2, (i) => (i % 2 ? 'demand-linear' : 'demand-nowhere')), ['id', 'model', ...FEATURES]);
    const failed = await runToEnd('in/missing.csv', { errorThreshold: 0 });
    expect(failed.status).toBe('failed');
    const staging = path.join(jobDirOf(defaultTenant, failed.id), 'staging');
    expect(fs.readdirSync(staging).length).toBeGreaterThan(0);
    expect((await t.request('DELETE', `/v1/batch-jobs/${failed.id}`)).status).toBe(204);
    expect(fs.existsSync(jobDirOf(defaultTenant, failed.id))).toBe(false);
    expect((await t.request('POST', `/v1/batch-jobs/${failed.id}/retry`)).status).toBe(404);
  });

  it('refuses a running job with 409, then deletes it once cancelled, while its worker is still finishing', async () => {
    // 60 partitions of 400 rows, one at a time, 2 rows per inference call: still running when asked.
    writeInput(t, 'in/long.csv', 'csv', makeRows(24_000, 3, () => 'demand-linear'), ['id', 'model', ...FEATURES]);
    const res = await t.request('POST', '/v1/batch-jobs', { body: job('in/long.csv', { maxConcurrency: 1, miniBatchSize: 2 }) });
    const running = await waitForJob(t, res.body.id, (j) => j.progress.partitions.succeeded >= 1);
    expect(running.status).toBe('running');

    const refused = await t.request('DELETE', `/v1/batch-jobs/${res.body.id}`);
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([409, 'JOB_STATE_CONFLICT', { status: 'running' }]);
    expect(refused.body.error.message).toMatch(/cancel it before deleting it/);
    expect(fs.existsSync(jobDirOf(defaultTenant, res.body.id))).toBe(true);
    expect((await t.request('GET', `/v1/batch-jobs/${res.body.id}`)).body.status).toBe('running');

    // Cancelled, and deleted at once: the partition in flight ends against a ledger without its job.
    expect((await t.request('POST', `/v1/batch-jobs/${res.body.id}/cancel`)).body.status).toBe('cancelled');
    expect((await t.request('DELETE', `/v1/batch-jobs/${res.body.id}`)).status).toBe(204);
    expect(fs.existsSync(jobDirOf(defaultTenant, res.body.id))).toBe(false);
    expect((await t.request('GET', `/v1/batch-jobs/${res.body.id}`)).status).toBe(404);

    // The workers go on with other jobs, and nothing of the deleted one comes back.
    const next = await runToEnd('in/small.csv');
    expect(next.status).toBe('succeeded');
    expect(fs.existsSync(jobDirOf(defaultTenant, res.body.id))).toBe(false);
    expect(await ledgerRows(res.body.id)).toBe(t.env.DATABASE_URL ? 0 : null);
    expect(t.output()).not.toMatch(/TypeError|Cannot read properties/);
  });

  it("answers 404 for another tenant's job and for ids that are no job, 403 for a scorer", async () => {
    const mine = await runToEnd('in/small.csv');
    const tenant = await t.request('POST', '/v1/tenants', { body: { name: 'other-retailer' } });
    const key = async (role: string) => (await t.request('POST', `/v1/tenants/${tenant.body.id}/keys`, { body: { role } })).body.key as string;
    const as = (credential: string, p: string) => t.request('DELETE', p, { headers: { authorization: `Bearer ${credential}` } });
    const publisher = await key('publisher');
    for (const id of [mine.id, '00000000-0000-0000-0000-000000000000', 'not-a-job']) {
      const res = await as(publisher, `/v1/batch-jobs/${id}`);
      expect([id, res.status, res.body.error.code]).toEqual([id, 404, 'JOB_NOT_FOUND']);
    }
    expect((await as(await key('scorer'), `/v1/batch-jobs/${mine.id}`)).status).toBe(403);
    expect((await t.request('GET', `/v1/batch-jobs/${mine.id}`)).body.status).toBe('succeeded');
    expect(fs.existsSync(path.join(t.dataDir, mine.output.location))).toBe(true);
  });

  it('deletes from the CLI: mms batch rm <id>', async () => {
    const done = await runToEnd('in/small.csv');
    const home = tempHome();
    try {
      const mms = (args: string[]) => runCli(args, { MMS_URL: t.baseUrl, MMS_TOKEN: ROOT_TOKEN, HOME: home });
      const deleted = await mms(['batch', 'rm', done.id]);
      expect([deleted.code, deleted.stdout]).toEqual([0, `Deleted batch job ${done.id}\n`]);
      expect(fs.existsSync(jobDirOf(defaultTenant, done.id))).toBe(false);
      const again = await mms(['batch', 'delete', done.id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/not found \(JOB_NOT_FOUND, HTTP 404\)/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
