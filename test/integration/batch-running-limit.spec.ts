import { DataSource } from 'typeorm';
import { BatchRepository } from '../../src/batch/batch.repository';
import { openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { createTenant } from '../support/registry-fixtures';

jest.setTimeout(60_000);

/**
 * MMS_TENANT_MAX_RUNNING_BATCH_JOBS on the real ledger (DATABASE_URL, else the embedded
 * database): a tenant's jobs beyond the limit wait, oldest first, and do not hold up another's.
 */
describe('batch jobs: the per-tenant limit of running jobs', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let repository: BatchRepository;

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    repository = new BatchRepository(dataSource);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  async function queuedJobs(tenant: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const [{ id }] = (await dataSource.query(
        `INSERT INTO batch_jobs (tenant_id, status, phase, spec, principal, created_at)
         VALUES ($1, 'queued', 'queued', '{"input":{"uri":"x.csv","format":"csv"},"output":{"format":"csv"}}'::jsonb, 'root', now() + $2 * interval '1 millisecond') RETURNING id`,
        [tenant, i],
      )) as Array<{ id: string }>;
      ids.push(id);
    }
    return ids;
  }
  const claim = (tenant: string, id: string, limit: number) => repository.claimPlanning(tenant, id, 'worker-a', 30, limit);
  const finish = (id: string) => dataSource.query(`UPDATE batch_jobs SET status = 'succeeded', phase = 'done', lease_owner = NULL, finished_at = now() WHERE id = $1`, [id]);

  it('claims at most the limit, oldest first, and hands the waiting ones out again once a job ends', async () => {
    const busy = await createTenant(dataSource);
    const other = await createTenant(dataSource);
    const [a, b, c, d] = await queuedJobs(busy, 4);
    expect((await claim(busy, a, 2))?.id).toBe(a);
    // Out of order: c's message came first, but b is older and waiting.
    expect(await claim(busy, c, 2)).toBeNull();
    expect((await claim(busy, b, 2))?.id).toBe(b);
    // The tenant is at its limit: c waits, d too.
    expect(await claim(busy, c, 2)).toBeNull();
    expect(await claim(busy, d, 2)).toBeNull();
    expect(await repository.runningJobs(busy, 2)).toEqual({ running: 2, limit: 2, olderWaiting: 0 });
    expect(await repository.waitingJobsWithRoom(2, 0)).toEqual([]);
    // Another tenant's job is not held up by the busy one.
    const [x] = await queuedJobs(other, 1);
    expect((await claim(other, x, 2))?.id).toBe(x);
    // A running job is claimed again (its planner died) even at the limit.
    await dataSource.query(`UPDATE batch_jobs SET lease_until = now() - interval '1 second' WHERE id = $1`, [a]);
    expect((await repository.claimPlanning(busy, a, 'worker-b', 30, 2))?.id).toBe(a);

    await finish(a);
    // One slot is free: only the oldest waiting job is handed out, and not twice in a row.
    expect(await repository.waitingJobsWithRoom(2, 0)).toEqual([{ tenantId: busy, id: c }]);
    expect(await repository.waitingJobsWithRoom(2, 60)).toEqual([]);
    expect(await claim(busy, d, 2)).toBeNull();
    // d is held back by c alone, not by the limit: its view can say so.
    expect(await repository.runningJobs(busy, 2, { id: d })).toEqual({ running: 1, limit: 2, olderWaiting: 1 });
    expect((await claim(busy, c, 2))?.id).toBe(c);
    // No limit: everything is claimed.
    expect((await claim(busy, d, 0))?.id).toBe(d);
    expect(await repository.waitingJobsWithRoom(0, 0)).toEqual([]);
  });

  it("takes a tenant's own limit over the default: a limit where the default has none, none where it has one", async () => {
    const limited = await createTenant(dataSource);
    const unlimited = await createTenant(dataSource);
    await dataSource.query(`UPDATE tenants SET max_running_batch_jobs = 1 WHERE id = $1`, [limited]);
    await dataSource.query(`UPDATE tenants SET max_running_batch_jobs = 0 WHERE id = $1`, [unlimited]);
    const [a, b] = await queuedJobs(limited, 2);
    expect((await claim(limited, a, 0))?.id).toBe(a);
    expect(await claim(limited, b, 0)).toBeNull();
    expect(await repository.runningJobs(limited, 0)).toEqual({ running: 1, limit: 1, olderWaiting: 0 });
    await finish(a);
    expect(await repository.waitingJobsWithRoom(0, 0)).toEqual([{ tenantId: limited, id: b }]);
    expect((await claim(limited, b, 0))?.id).toBe(b);

    const free = await queuedJobs(unlimited, 3);
    for (const id of free) expect((await claim(unlimited, id, 1))?.id).toBe(id);
    expect(await repository.runningJobs(unlimited, 1)).toEqual({ running: 3, limit: 0, olderWaiting: 0 });
  });

  it('resumes a retried job only within the limit: at the limit it waits queued in its scoring phase, first in line', async () => {
    const tenant = await createTenant(dataSource);
    const [old, running, newer] = await queuedJobs(tenant, 3);
    await dataSource.query(`UPDATE batch_jobs SET status = 'failed', phase = 'done', finished_at = now(), partitions_total = 1 WHERE id = $1`, [old]);
    expect((await claim(tenant, running, 1))?.id).toBe(running);
    // Retried while the tenant runs its one job: it waits, and so does the newer job behind it.
    expect(await dataSource.transaction((tx) => repository.reopenWithinLimit(tx, tenant, old, 1))).toBe('queued');
    expect(await dataSource.query(`SELECT status, phase, error FROM batch_jobs WHERE id = $1`, [old])).toEqual([{ status: 'queued', phase: 'scoring', error: null }]);
    expect(await dataSource.transaction((tx) => repository.resumeWaiting(tx, tenant, old, 1))).toBe(false);
    await finish(running);
    // A slot is free: the retried job (older) is handed out, not the newer one, which may not jump ahead.
    expect(await repository.waitingJobsWithRoom(1, 0)).toEqual([{ tenantId: tenant, id: old }]);
    expect(await claim(tenant, newer, 1)).toBeNull();
    expect(await dataSource.transaction((tx) => repository.resumeWaiting(tx, tenant, old, 1))).toBe(true);
    expect(await dataSource.query(`SELECT status, phase FROM batch_jobs WHERE id = $1`, [old])).toEqual([{ status: 'running', phase: 'scoring' }]);
    expect(await repository.runningJobs(tenant, 1)).toEqual({ running: 1, limit: 1, olderWaiting: 0 });
    // With room, a retry resumes at once.
    await finish(old);
    await dataSource.query(`UPDATE batch_jobs SET status = 'failed', phase = 'done' WHERE id = $1`, [old]);
    expect((await claim(tenant, newer, 1))?.id).toBe(newer);
    expect(await dataSource.transaction((tx) => repository.reopenWithinLimit(tx, tenant, old, 0))).toBe('running');
  });
});
