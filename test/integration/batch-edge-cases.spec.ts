import { DataSource } from 'typeorm';
import type { AuthContext } from '../../src/auth/auth-context';
import { BatchJobsService } from '../../src/batch/batch-jobs.service';
import { BatchRepository } from '../../src/batch/batch.repository';
import type { AppConfig } from '../../src/config/app-config';
import { ModelsRepository } from '../../src/registry/models.repository';
import { openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { createTenant, newVersion } from '../support/registry-fixtures';

jest.setTimeout(60_000);

/** Batch job edge cases that need the real ledger (DATABASE_URL, else the embedded database). */
describe('batch jobs on the ledger: edge cases', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let tenant: string;
  let jobs: BatchJobsService;

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    tenant = await createTenant(dataSource);
    // Listing reads only the ledger: the other collaborators (queue, planner, files) are not involved.
    const unused = undefined as never;
    jobs = new BatchJobsService(new BatchRepository(dataSource), unused, unused, unused, unused, unused, unused, { MMS_TENANT_MAX_RUNNING_BATCH_JOBS: 4 } as AppConfig);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('pages through jobs created in the same millisecond (schedules fired together) without skipping any', async () => {
    // PostgreSQL keeps microseconds: what one transaction firing several schedules, or two
    // quick submits, give their jobs.
    const created: string[] = [];
    for (const at of ['2026-11-24 02:00:00.123456+00', '2026-11-24 02:00:00.123456+00', '2026-11-24 02:00:00.123789+00', '2026-11-24 02:00:00.123001+00', '2026-11-24 01:00:00+00']) {
      const [{ id }] = (await dataSource.query(
        `INSERT INTO batch_jobs (tenant_id, status, phase, spec, principal, created_at) VALUES ($1, 'queued', 'queued', '{"input":{"uri":"x.csv","format":"csv"},"output":{"format":"csv"}}'::jsonb, 'root', $2) RETURNING id`,
        [tenant, at],
      )) as Array<{ id: string }>;
      created.push(id);
    }
    const ctx = { tenantId: tenant } as AuthContext;
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { items, nextCursor } = await jobs.list(ctx, { limit: '1', ...(cursor ? { cursor } : {}) });
      seen.push(...items.map((i) => i.id as string));
      if (!nextCursor) break;
      cursor = nextCursor;
    }
    expect(seen).toHaveLength(created.length);
    expect(new Set(seen)).toEqual(new Set(created));
    // Newest first, the oldest last.
    expect(seen[0]).toBe(created[2]);
    expect(seen[seen.length - 1]).toBe(created[4]);
  });

  it('keeps the artifact of a version a batch job pinned after the version is deleted, until the job goes', async () => {
    const models = new ModelsRepository(dataSource);
    const version = newVersion();
    const { version: stored } = await models.appendVersion(tenant, 'pinned-then-deleted', version);
    const pinned = { 'pinned-then-deleted': { versionId: stored.id, model: 'pinned-then-deleted', version: 1, modelSha256: version.modelSha256, signature: { inputs: [], outputs: [] }, mlflow: null } };
    const [{ id: jobId }] = (await dataSource.query(
      `INSERT INTO batch_jobs (tenant_id, status, phase, spec, principal, pinned) VALUES ($1, 'cancelled', 'done', '{}'::jsonb, 'root', $2) RETURNING id`,
      [tenant, JSON.stringify(pinned)],
    )) as Array<{ id: string }>;
    await models.deleteModel(tenant, 'pinned-then-deleted');
    // A retry of the job scores with that version: the store's sweep must not remove its file.
    expect(await models.isArtifactReferenced(version.modelSha256)).toBe(true);
    await dataSource.query('DELETE FROM batch_jobs WHERE id = $1', [jobId]);
    expect(await models.isArtifactReferenced(version.modelSha256)).toBe(false);
  });
});
