import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { BatchPaths } from '../../src/batch/batch-paths';
import { BatchRetentionRepository } from '../../src/batch/batch-retention.repository';
import { BatchRetention } from '../../src/batch/batch-retention.service';
import { BatchRepository } from '../../src/batch/batch.repository';
import { loadConfig } from '../../src/config/app-config';
import { openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { createTenant } from '../support/registry-fixtures';

jest.setTimeout(60_000);

const DAY_MS = 24 * 60 * 60_000;

/**
 * Deleting batch jobs and the retention sweep, on a real database (DATABASE_URL, else the
 * embedded one) and real files: rows and files go together, only finished jobs go, and only
 * within the tenant.
 */
describe('batch job deletion and retention', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let dataDir: string;
  let paths: BatchPaths;
  let repository: BatchRetentionRepository;
  let tenant: string;
  let other: string;

  const retention = (days = 30) => new BatchRetention(loadConfig({ DATABASE_URL: db.url, MMS_DATA_DIR: dataDir, MMS_BATCH_RETENTION_DAYS: String(days) }), repository, paths);

  /** A job row in `status`, finished `ageDays` ago, with 3 partitions, a staging area and (succeeded) a committed output. */
  async function makeJob(tenantId: string, status: string, ageDays: number): Promise<string> {
    const finished = ['succeeded', 'failed', 'cancelled'].includes(status);
    const at = new Date(Date.now() - ageDays * DAY_MS).toISOString();
    const [{ id }] = (await dataSource.query(
      `INSERT INTO batch_jobs (tenant_id, status, phase, spec, principal, created_at, started_at, finished_at)
       VALUES ($1, $2, $3, '{}'::jsonb, 'root', $4, $4, $5) RETURNING id`,
      [tenantId, status, finished ? 'done' : 'scoring', at, finished ? at : null],
    )) as Array<{ id: string }>;
    for (const seq of [1, 2, 3]) {
      await dataSource.query(`INSERT INTO batch_partitions (tenant_id, job_id, seq, route_key, status, rows_in) VALUES ($1, $2, $3, $4, $5, 10)`, [
        tenantId,
        id,
        seq,
        `demand-${seq}`,
        finished ? (status === 'succeeded' ? 'succeeded' : 'cancelled') : 'running',
      ]);
    }
    fs.mkdirSync(paths.stagingDir(tenantId, id), { recursive: true });
    fs.writeFileSync(paths.partitionInput(tenantId, id, 1), '{"a":1}\n');
    if (status === 'succeeded') {
      fs.mkdirSync(paths.outputDir(tenantId, id, 1), { recursive: true });
      fs.writeFileSync(path.join(paths.outputDir(tenantId, id, 1), 'output.csv'), 'a\n1\n');
    }
    return id;
  }

  async function rowsOf(id: string): Promise<{ jobs: number; partitions: number }> {
    const [r] = (await dataSource.query(
      `SELECT (SELECT count(*) FROM batch_jobs WHERE id = $1)::int AS jobs, (SELECT count(*) FROM batch_partitions WHERE job_id = $1)::int AS partitions`,
      [id],
    )) as Array<{ jobs: number; partitions: number }>;
    return r;
  }

  const kept = async (tenantId: string, id: string) => ({ rows: await rowsOf(id), dir: fs.existsSync(paths.jobDir(tenantId, id)) });
  const KEPT = { rows: { jobs: 1, partitions: 3 }, dir: true };
  const GONE = { rows: { jobs: 0, partitions: 0 }, dir: false };

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    repository = new BatchRetentionRepository(dataSource);
    tenant = await createTenant(dataSource);
    other = await createTenant(dataSource);
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-retention-'));
    paths = new BatchPaths(dataDir);
  });
  afterEach(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await dataSource.query(`DELETE FROM batch_jobs`);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('deletes a finished job with its files and partitions; a worker finishing later finds nothing', async () => {
    const succeeded = await makeJob(tenant, 'succeeded', 0);
    const failed = await makeJob(tenant, 'failed', 0);
    const neighbour = await makeJob(tenant, 'succeeded', 0);
    const service = retention();
    expect(await service.deleteJob(tenant, succeeded)).toEqual({ deleted: true });
    expect(await service.deleteJob(tenant, failed)).toEqual({ deleted: true });
    expect(await kept(tenant, succeeded)).toEqual(GONE);
    expect(await kept(tenant, failed)).toEqual(GONE);
    expect(await kept(tenant, neighbour)).toEqual(KEPT);

    // What a worker still holding work of the deleted job would do next changes nothing.
    const ledger = new BatchRepository(dataSource);
    expect(await ledger.claimCommit(tenant, failed, 'late-worker', 30)).toBeNull();
    expect(await ledger.findJob(dataSource, tenant, failed)).toBeNull();
    expect(await service.deleteJob(tenant, failed)).toEqual({ deleted: false, status: null });
  });

  it('removes the whole directory of a job deleted while files still land in it (a partition finishing after the cancel)', async () => {
    const cancelled = await makeJob(tenant, 'cancelled', 0);
    const staging = paths.stagingDir(tenant, cancelled);
    for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(staging, `part-${i}.jsonl`), '{"a":1}\n');
    // A scoring thread's late writes, one a millisecond for 150 ms, while the directory is removed.
    let late = 0;
    const writer = setInterval(() => {
      try {
        fs.writeFileSync(path.join(staging, `late-${late++}.tmp`), 'x');
      } catch {
        // the directory is gone: what a real late write meets too
      }
    }, 1);
    setTimeout(() => clearInterval(writer), 150);
    expect(await retention().deleteJob(tenant, cancelled)).toEqual({ deleted: true });
    clearInterval(writer);
    expect(fs.existsSync(paths.jobDir(tenant, cancelled))).toBe(false);
  });

  it('keeps queued and running jobs, and never touches another tenant’s job', async () => {
    const running = await makeJob(tenant, 'running', 0);
    const queued = await makeJob(tenant, 'queued', 0);
    const theirs = await makeJob(other, 'succeeded', 0);
    const service = retention();
    expect(await service.deleteJob(tenant, running)).toEqual({ deleted: false, status: 'running' });
    expect(await service.deleteJob(tenant, queued)).toEqual({ deleted: false, status: 'queued' });
    expect(await service.deleteJob(tenant, theirs)).toEqual({ deleted: false, status: null });
    expect(await service.deleteJob(tenant, randomUUID())).toEqual({ deleted: false, status: null });
    for (const [t, id] of [[tenant, running], [tenant, queued], [other, theirs]]) expect(await kept(t, id)).toEqual(KEPT);
  });

  it('sweeps finished jobs past retention in every tenant, files and rows, and keeps the rest', async () => {
    const oldSucceeded = await makeJob(tenant, 'succeeded', 31);
    const oldFailed = await makeJob(other, 'failed', 45);
    const oldCancelled = await makeJob(tenant, 'cancelled', 400);
    const recent = await makeJob(tenant, 'succeeded', 29);
    const oldButRunning = await makeJob(tenant, 'running', 90); // started 90 days ago, still running
    const result = await retention(30).sweep();
    expect(result.jobs.map((j) => j.id).sort()).toEqual([oldSucceeded, oldFailed, oldCancelled].sort());
    expect(result.jobs.find((j) => j.id === oldFailed)).toEqual({ tenantId: other, id: oldFailed, status: 'failed' });
    expect(await kept(tenant, oldSucceeded)).toEqual(GONE);
    expect(await kept(other, oldFailed)).toEqual(GONE);
    expect(await kept(tenant, oldCancelled)).toEqual(GONE);
    expect(await kept(tenant, recent)).toEqual(KEPT);
    expect(await kept(tenant, oldButRunning)).toEqual(KEPT);
    expect((await retention(30).sweep()).jobs).toEqual([]);
  });

  it('keeps every job with MMS_BATCH_RETENTION_DAYS=0', async () => {
    const ancient = await makeJob(tenant, 'succeeded', 3000);
    expect((await retention(0).sweep()).jobs).toEqual([]);
    expect(await kept(tenant, ancient)).toEqual(KEPT);
  });

  it('deletes each expired job once when several processes sweep at the same time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await makeJob(i % 2 ? tenant : other, i % 3 ? 'succeeded' : 'cancelled', 40 + i));
    // Separate instances, as in separate processes: SKIP LOCKED hands each job to one of them.
    const results = await Promise.all([retention(), retention(), retention()].map((r) => r.sweep()));
    const swept = results.flatMap((r) => r.jobs.map((j) => j.id));
    expect(swept.sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await rowsOf(id)).toEqual({ jobs: 0, partitions: 0 });
  });

  it('removes job directories whose job row is gone once they have been quiet for an hour', async () => {
    const live = await makeJob(tenant, 'succeeded', 0);
    const quiet = path.join(dataDir, 'batch', tenant, randomUUID());
    const fresh = path.join(dataDir, 'batch', other, randomUUID());
    const notAJob = path.join(dataDir, 'batch', tenant, 'inputs');
    for (const dir of [quiet, fresh, notAJob]) fs.mkdirSync(path.join(dir, 'staging'), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
    for (const dir of [quiet, notAJob, paths.jobDir(tenant, live)]) fs.utimesSync(dir, twoHoursAgo, twoHoursAgo);
    const result = await retention().sweep();
    expect(result.orphans).toEqual([path.relative(dataDir, quiet).split(path.sep).join('/')]);
    expect([fs.existsSync(quiet), fs.existsSync(fresh), fs.existsSync(notAJob)]).toEqual([false, true, true]);
    expect(await kept(tenant, live)).toEqual(KEPT);
  });
});
