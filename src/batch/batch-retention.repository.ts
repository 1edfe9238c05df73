import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { JobStatus } from './batch.types';

/** A job is finished (and may be deleted) in these states; queued and running jobs never are. */
export const FINISHED_STATUSES: readonly JobStatus[] = [JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled];

export type DeleteOutcome = { deleted: true } | { deleted: false; status: JobStatus | null };

export interface ExpiredJob {
  tenantId: string;
  id: string;
  status: JobStatus;
}

/**
 * Removing batch jobs' rows: one job through the API, or finished jobs past retention. The
 * job row and its partitions (the ledger) go in one transaction, before any file: a worker
 * still finishing (a cancelled partition's last mini-batch, a commit) then finds no row, and
 * every ledger write it attempts matches nothing.
 */
@Injectable()
export class BatchRetentionRepository {
  constructor(readonly dataSource: DataSource) {}

  /**
   * Deletes the tenant's job and its partitions if the job is finished. The job row is locked
   * first, so a concurrent retry (which locks it too) either sees it gone or keeps it running.
   */
  async deleteFinishedJob(tenantId: string, id: string): Promise<DeleteOutcome> {
    return this.dataSource.transaction(async (tx) => {
      const [job] = (await tx.query(`SELECT status FROM batch_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id])) as Array<{ status: JobStatus }>;
      if (!job) return { deleted: false, status: null };
      if (!FINISHED_STATUSES.includes(job.status)) return { deleted: false, status: job.status };
      await this.deleteRows(tx, [{ tenantId, id }]);
      return { deleted: true };
    });
  }

  /**
   * Deletes up to `limit` jobs that finished before `before`, across tenants (a maintenance
   * query: each row is then handled within its own tenant). `SKIP LOCKED`: a job another process
   * is deleting (or a retry holds) is left to it. Answers the jobs deleted, for their files.
   */
  async deleteExpiredJobs(before: Date, limit: number): Promise<ExpiredJob[]> {
    return this.dataSource.transaction(async (tx) => {
      const doomed = (await tx.query(
        `SELECT tenant_id AS "tenantId", id, status FROM batch_jobs
         WHERE status = ANY($1::text[]) AND COALESCE(finished_at, created_at) < $2
         ORDER BY COALESCE(finished_at, created_at) LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [FINISHED_STATUSES, before.toISOString(), limit],
      )) as ExpiredJob[];
      if (doomed.length) await this.deleteRows(tx, doomed);
      return doomed;
    });
  }

  /** Which of these job ids (all of one tenant) still have a row: directories of the others are orphans. */
  async existingJobIds(tenantId: string, ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const found = (await this.dataSource.query(`SELECT id FROM batch_jobs WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, ids])) as Array<{ id: string }>;
    return new Set(found.map((r) => r.id));
  }

  /** Partitions first, then the jobs, each filtered on the tenant (the foreign key would cascade, but say it). */
  private async deleteRows(tx: EntityManager, jobs: ReadonlyArray<{ tenantId: string; id: string }>): Promise<void> {
    const tenants = jobs.map((j) => j.tenantId);
    const ids = jobs.map((j) => j.id);
    const pairs = `SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS d(tenant_id, id)`;
    await tx.query(`DELETE FROM batch_partitions p USING (${pairs}) d WHERE p.tenant_id = d.tenant_id AND p.job_id = d.id`, [tenants, ids]);
    await tx.query(`DELETE FROM batch_jobs j USING (${pairs}) d WHERE j.tenant_id = d.tenant_id AND j.id = d.id`, [tenants, ids]);
  }
}
