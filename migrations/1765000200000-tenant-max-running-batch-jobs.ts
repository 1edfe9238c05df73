import { MigrationInterface, QueryRunner } from 'typeorm';

/** A tenant's own limit of batch jobs running at once; null: MMS_TENANT_MAX_RUNNING_BATCH_JOBS. */
export class TenantMaxRunningBatchJobs1765000200000 implements MigrationInterface {
  name = 'TenantMaxRunningBatchJobs1765000200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants ADD COLUMN max_running_batch_jobs integer`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants DROP COLUMN max_running_batch_jobs`);
  }
}
