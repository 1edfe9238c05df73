import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { BatchJobSpec } from './batch-job-spec';
import { JobForScoring, JobPhase, JobProgress, JobRow, JobStatus, PartitionRow, PartitionStatus, PinnedVersion, PlannedPartition, RowError } from './batch.types';
import type { OutputColumn } from './io/output-format';

type Db = DataSource | EntityManager;

const JOB_COLUMNS = `
  id, tenant_id AS "tenantId", status, phase, spec, principal, model_scope AS "modelScope", schedule_id AS "scheduleId",
  pinned, columns, rows_total::float8 AS "rowsTotal", partitions_total AS "partitionsTotal", lease_owner AS "leaseOwner",
  plan_attempts AS "planAttempts", commit_seq AS "commitSeq", output_path AS "outputPath", output_rows::float8 AS "outputRows",
  error, created_at AS "createdAt", started_at AS "startedAt", scoring_started_at AS "scoringStartedAt",
  finished_at AS "finishedAt", committed_at AS "committedAt"`;

const PARTITION_COLUMNS = `
  id, tenant_id AS "tenantId", job_id AS "jobId", seq, route_key AS "routeKey", chunk, model, version, status, attempt, failures,
  rows_in AS "rowsIn", rows_out AS "rowsOut", rows_failed AS "rowsFailed", bytes_out::float8 AS "bytesOut", checksum,
  row_errors AS "rowErrors", value_kinds AS "valueKinds", columns_written AS "columnsWritten", error, started_at AS "startedAt", finished_at AS "finishedAt"`;

/** `lim`: the tenant's ($1) limit of running jobs, its own else the default given as `defaultParam`; 0: none. */
function tenantLimit(defaultParam: string): string {
  return `lim AS (SELECT COALESCE((SELECT max_running_batch_jobs FROM tenants WHERE id = $1), ${defaultParam}::int) AS n)`;
}

/**
 * Whether job `j` of tenant $1 may start under the limit `lim.n`: the tenant runs fewer jobs, and
 * none of its older jobs is waiting to (queued to be planned, or a retry queued to score again).
 */
const MAY_START = `(lim.n = 0 OR (
  (SELECT count(*) FROM batch_jobs r WHERE r.tenant_id = $1 AND r.status = 'running') < lim.n
  AND NOT EXISTS (SELECT 1 FROM batch_jobs o WHERE o.tenant_id = $1 AND o.status = 'queued' AND o.phase IN ('queued', 'scoring')
                  AND (o.created_at, o.id) < (j.created_at, j.id))))`;

/** Serialises the starts of a tenant's jobs, so that two processes cannot both take its last free slot. */
async function lockTenantStarts(tx: EntityManager, tenantId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('mms.batch.plan'), hashtext($1))`, [tenantId]);
}

function prefixed(columns: string, alias: string): string {
  return columns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}

/** TypeORM answers UPDATE and DELETE with [rows, count], everything else with rows. */
async function rows<T>(db: Db, sql: string, params: unknown[]): Promise<T[]> {
  const result = (await db.query(sql, params)) as unknown;
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/**
 * Every batch query. Each one that serves a request or works a job filters on the tenant; the
 * few maintenance queries that look across tenants (expired leases, due schedules, see
 * BatchRunner) say so, and what they return is then handled per tenant.
 */
@Injectable()
export class BatchRepository {
  constructor(readonly dataSource: DataSource) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  // ---- routing ------------------------------------------------------------------------------

  /** The tenant's models that have a segment (and carry `tags`): the candidates of segment routing. */
  async segmentedModels(tenantId: string, tags: Record<string, string>): Promise<Array<{ name: string; segment: Record<string, string> }>> {
    // A model without versions (its last one deleted) serves nothing: the row falls back past it, as online.
    return rows(
      this.dataSource,
      `SELECT m.name, m.segment FROM models m
        WHERE m.tenant_id = $1 AND m.segment <> '{}'::jsonb AND m.tags @> $2::jsonb AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id)`,
      [tenantId, JSON.stringify(tags)],
    );
  }

  /** Which of `names` are models of the tenant carrying `tags`. */
  async modelsTagged(tenantId: string, tags: Record<string, string>, names: readonly string[]): Promise<string[]> {
    const found = await rows<{ name: string }>(this.dataSource, `SELECT name FROM models WHERE tenant_id = $1 AND tags @> $2::jsonb AND name = ANY($3::text[])`, [tenantId, JSON.stringify(tags), names]);
    return found.map((r) => r.name);
  }

  // ---- jobs ---------------------------------------------------------------------------------

  async createJob(db: Db, job: { tenantId: string; spec: BatchJobSpec; principal: string; modelScope: readonly string[] | null; scheduleId: string | null }): Promise<JobRow> {
    const [row] = await rows<JobRow>(
      db,
      `INSERT INTO batch_jobs (tenant_id, status, phase, spec, principal, model_scope, schedule_id)
       VALUES ($1, 'queued', 'queued', $2, $3, $4, $5) RETURNING ${JOB_COLUMNS}`,
      [job.tenantId, JSON.stringify(job.spec), job.principal, job.modelScope, job.scheduleId],
    );
    return row;
  }

  async findJob(db: Db, tenantId: string, id: string, forUpdate = false): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(db, `SELECT ${JOB_COLUMNS} FROM batch_jobs WHERE tenant_id = $1 AND id = $2 ${forUpdate ? 'FOR UPDATE' : ''}`, [tenantId, id]);
    return row ?? null;
  }

  /**
   * What scoring partitions needs of their job, without every pinned version (a job over
   * thousands of models has a large `pinned`): only the pins of the given models.
   */
  /** What scoring the job's partitions needs (BatchRunner keeps it per process: see JobForScoring). */
  async findJobForScoring(tenantId: string, jobId: string): Promise<JobForScoring | null> {
    const [row] = await rows<JobForScoring>(
      this.dataSource,
      `SELECT id, tenant_id AS "tenantId", spec, principal, model_scope AS "modelScope", pinned, columns FROM batch_jobs WHERE tenant_id = $1 AND id = $2`,
      [tenantId, jobId],
    );
    return row ?? null;
  }

  /** The job's state and options, locked: what coordination after a partition needs. */
  async lockJobState(db: Db, tenantId: string, jobId: string): Promise<Pick<JobRow, 'id' | 'tenantId' | 'status' | 'phase' | 'spec'> | null> {
    const [row] = await rows<Pick<JobRow, 'id' | 'tenantId' | 'status' | 'phase' | 'spec'>>(
      db,
      `SELECT id, tenant_id AS "tenantId", status, phase, spec FROM batch_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
      [tenantId, jobId],
    );
    return row ?? null;
  }

  async failedRows(db: Db, tenantId: string, jobId: string): Promise<number> {
    const [row] = await rows<{ n: number }>(
      db,
      `SELECT COALESCE(sum(rows_failed), 0)::float8 AS n FROM batch_partitions WHERE tenant_id = $1 AND job_id = $2 AND rows_failed > 0`,
      [tenantId, jobId],
    );
    return row.n;
  }

  /**
   * Newest first; the cursor is the last item's (created_at, id), its time as `cursorAt`, to the
   * microsecond as PostgreSQL keeps it: a JavaScript Date (milliseconds) would skip the jobs
   * created in the same millisecond, such as those of schedules fired in one transaction.
   */
  async listJobs(tenantId: string, options: { limit: number; status?: JobStatus; before?: { createdAt: string; id: string } }): Promise<Array<JobRow & { cursorAt: string }>> {
    const params: unknown[] = [tenantId, options.limit];
    let where = 'tenant_id = $1';
    if (options.status) {
      params.push(options.status);
      where += ` AND status = $${params.length}`;
    }
    if (options.before) {
      params.push(options.before.createdAt, options.before.id);
      where += ` AND (created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    return rows<JobRow & { cursorAt: string }>(
      this.dataSource,
      `SELECT ${JOB_COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"
         FROM batch_jobs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`,
      params,
    );
  }

  /** Takes the planning lease: a queued job, or one whose planner died (lease expired). */
  /**
   * Takes the planning lease of a job. A queued job is claimed only while its tenant runs fewer
   * jobs than its limit (the tenant's `max_running_batch_jobs`, else `defaultLimit`; 0: none) and
   * no older job of the tenant is waiting, so one tenant's burst of jobs cannot crowd out the
   * others' and its own run oldest first; a job not claimed for that stays queued until
   * `waitingJobsWithRoom` hands it out again.
   */
  async claimPlanning(tenantId: string, id: string, owner: string, leaseSeconds: number, defaultLimit = 0): Promise<JobRow | null> {
    return this.transaction(async (tx) => {
      await lockTenantStarts(tx, tenantId);
      // `lim` has only the column n, so the unqualified columns below are the job's.
      const [row] = await rows<JobRow>(
        tx,
        `WITH ${tenantLimit('$5')}
         UPDATE batch_jobs j SET status = 'running', phase = 'planning', lease_owner = $3, lease_until = now() + $4 * interval '1 second',
           plan_attempts = plan_attempts + 1, started_at = COALESCE(started_at, now())
         FROM lim
         WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') AND phase IN ('queued', 'planning')
           AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until < now())
           AND (j.status = 'running' OR ${MAY_START})
         RETURNING ${JOB_COLUMNS}`,
        [tenantId, id, owner, leaseSeconds, defaultLimit],
      );
      return row ?? null;
    });
  }

  /**
   * A retry of a planned job's partitions (or of its commit alone): the job resumes scoring now if
   * its tenant has room (as claimPlanning decides it), else it waits `queued` in its scoring phase
   * until `waitingJobsWithRoom` hands it out and `resumeWaiting` starts it. Answers the status
   * set. Call in the transaction that reopens the partitions.
   */
  async reopenWithinLimit(tx: EntityManager, tenantId: string, id: string, defaultLimit: number): Promise<JobStatus.Running | JobStatus.Queued> {
    await lockTenantStarts(tx, tenantId);
    const [row] = await rows<{ status: JobStatus.Running | JobStatus.Queued }>(
      tx,
      `WITH ${tenantLimit('$3')}
       UPDATE batch_jobs j SET status = CASE WHEN ${MAY_START} THEN 'running' ELSE 'queued' END, phase = 'scoring',
         error = NULL, finished_at = NULL, lease_owner = NULL, lease_until = NULL, queued_at = now(), scoring_started_at = now()
       FROM lim WHERE tenant_id = $1 AND id = $2
       RETURNING status`,
      [tenantId, id, defaultLimit],
    );
    return row?.status ?? JobStatus.Queued;
  }

  /** Starts a retried job waiting in its scoring phase (reopenWithinLimit) if its tenant has room now; answers whether it did. */
  async resumeWaiting(tx: EntityManager, tenantId: string, id: string, defaultLimit: number): Promise<boolean> {
    await lockTenantStarts(tx, tenantId);
    const started = await rows(
      tx,
      `WITH ${tenantLimit('$3')}
       UPDATE batch_jobs j SET status = 'running', queued_at = now(), scoring_started_at = now()
       FROM lim WHERE tenant_id = $1 AND id = $2 AND status = 'queued' AND phase = 'scoring' AND ${MAY_START}
       RETURNING id`,
      [tenantId, id, defaultLimit],
    );
    return started.length > 0;
  }

  /**
   * The oldest waiting jobs of each tenant running fewer jobs than its limit, as many as it has
   * room for, not handed out in the last `seconds`: their plan messages found the tenant at its
   * limit, so they are sent again once a slot is free.
   */
  async waitingJobsWithRoom(defaultLimit: number, seconds: number): Promise<Array<{ tenantId: string; id: string }>> {
    return rows(
      this.dataSource,
      `WITH room AS (
         SELECT b.tenant_id, COALESCE(t.max_running_batch_jobs, $1::int) - count(*) FILTER (WHERE b.status = 'running') AS free
         FROM batch_jobs b JOIN tenants t ON t.id = b.tenant_id
         WHERE b.status IN ('queued', 'running') GROUP BY b.tenant_id, t.max_running_batch_jobs
         HAVING COALESCE(t.max_running_batch_jobs, $1::int) > 0
       ), waiting AS (
         SELECT tenant_id, id, queued_at, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS place
         FROM batch_jobs WHERE status = 'queued' AND phase IN ('queued', 'scoring') AND lease_owner IS NULL
       ), due AS (
         SELECT w.tenant_id, w.id FROM waiting w JOIN room USING (tenant_id)
         WHERE w.place <= room.free AND w.queued_at < now() - $2 * interval '1 second'
       )
       UPDATE batch_jobs j SET queued_at = now() FROM due WHERE j.tenant_id = due.tenant_id AND j.id = due.id
       RETURNING j.tenant_id AS "tenantId", j.id`,
      [defaultLimit, seconds],
    );
  }

  /**
   * How many of a tenant's jobs are running (planning, scoring or committing), and its limit (0:
   * none); with `before`, also how many of its jobs submitted before that one wait to start.
   */
  async runningJobs(tenantId: string, defaultLimit: number, before?: { id: string }): Promise<{ running: number; limit: number; olderWaiting: number }> {
    const [row] = await rows<{ running: number; limit: number; olderWaiting: number }>(
      this.dataSource,
      `SELECT (SELECT count(*)::int FROM batch_jobs WHERE tenant_id = $1 AND status = 'running') AS running,
              COALESCE((SELECT max_running_batch_jobs FROM tenants WHERE id = $1), $2::int) AS "limit",
              (SELECT count(*)::int FROM batch_jobs o JOIN batch_jobs j ON j.tenant_id = o.tenant_id AND j.id = $3::uuid
                WHERE o.tenant_id = $1 AND o.status = 'queued' AND o.phase IN ('queued', 'scoring') AND (o.created_at, o.id) < (j.created_at, j.id)) AS "olderWaiting"`,
      [tenantId, defaultLimit, before?.id ?? null],
    );
    return row ?? { running: 0, limit: defaultLimit, olderWaiting: 0 };
  }

  /** Takes the commit lease of a job whose partitions are all done. */
  async claimCommit(tenantId: string, id: string, owner: string, leaseSeconds: number): Promise<JobRow | null> {
    const [row] = await rows<JobRow>(
      this.dataSource,
      `UPDATE batch_jobs SET lease_owner = $3, lease_until = now() + $4 * interval '1 second'
       WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND phase = 'committing'
         AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until < now())
       RETURNING ${JOB_COLUMNS}`,
      [tenantId, id, owner, leaseSeconds],
    );
    return row ?? null;
  }

  /** Extends a planning or commit lease; answers the job's status, or null when the lease was lost. */
  async renewJobLease(tenantId: string, id: string, owner: string, leaseSeconds: number): Promise<JobStatus | null> {
    const [row] = await rows<{ status: JobStatus }>(
      this.dataSource,
      `UPDATE batch_jobs SET lease_until = now() + $4 * interval '1 second' WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 RETURNING status`,
      [tenantId, id, owner, leaseSeconds],
    );
    return row?.status ?? null;
  }

  async deletePartitions(db: Db, tenantId: string, jobId: string): Promise<void> {
    await db.query(`DELETE FROM batch_partitions WHERE tenant_id = $1 AND job_id = $2`, [tenantId, jobId]);
  }

  async insertPartitions(db: Db, tenantId: string, jobId: string, partitions: readonly PlannedPartition[]): Promise<void> {
    for (let i = 0; i < partitions.length; i += 5000) {
      const slice = partitions.slice(i, i + 5000).map((p) => ({
        seq: p.seq,
        route_key: p.routeKey,
        chunk: p.chunk,
        model: p.model,
        version: p.version,
        status: p.error ? PartitionStatus.Failed : PartitionStatus.Pending,
        rows_in: p.rows,
        rows_failed: p.error ? p.rows : 0,
        error: p.error,
        row_errors: p.rowErrors?.length ? p.rowErrors : null,
      }));
      await db.query(
        `INSERT INTO batch_partitions (tenant_id, job_id, seq, route_key, chunk, model, version, status, rows_in, rows_failed, error, row_errors, finished_at)
         SELECT $1, $2, x.seq, x.route_key, x.chunk, x.model, x.version, x.status, x.rows_in, x.rows_failed, x.error, x.row_errors,
                CASE WHEN x.status = 'failed' THEN now() END
         FROM jsonb_to_recordset($3::jsonb) AS x(seq int, route_key text, chunk int, model text, version int, status text, rows_in int, rows_failed int, error text, row_errors jsonb)`,
        [tenantId, jobId, JSON.stringify(slice)],
      );
    }
  }

  /** The plan is recorded: scoring starts. False when the planning lease was lost meanwhile. */
  async finishPlanning(
    db: Db,
    tenantId: string,
    id: string,
    owner: string,
    plan: { pinned: Record<string, PinnedVersion>; columns: OutputColumn[]; rowsTotal: number; partitionsTotal: number },
  ): Promise<boolean> {
    const updated = await rows<{ id: string }>(
      db,
      `UPDATE batch_jobs SET phase = 'scoring', pinned = $4, columns = $5, rows_total = $6, partitions_total = $7,
         lease_owner = NULL, lease_until = NULL, scoring_started_at = now()
       WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running' AND phase = 'planning' RETURNING id`,
      [tenantId, id, owner, JSON.stringify(plan.pinned), JSON.stringify(plan.columns), plan.rowsTotal, plan.partitionsTotal],
    );
    return updated.length === 1;
  }

  /** Adds versions pinned later (a retry resolving a model that was missing) and their columns. */
  async updatePins(db: Db, tenantId: string, id: string, pinned: Record<string, PinnedVersion>, columns: OutputColumn[]): Promise<void> {
    await db.query(`UPDATE batch_jobs SET pinned = $3, columns = $4 WHERE tenant_id = $1 AND id = $2`, [tenantId, id, JSON.stringify(pinned), JSON.stringify(columns)]);
  }

  async setPhase(db: Db, tenantId: string, id: string, phase: JobPhase): Promise<void> {
    await db.query(`UPDATE batch_jobs SET phase = $3, lease_owner = NULL, lease_until = NULL, queued_at = now() WHERE tenant_id = $1 AND id = $2`, [tenantId, id, phase]);
  }

  /** Ends a job that is still queued or running as failed; partitions not yet done are cancelled. */
  async failJob(db: Db, tenantId: string, id: string, error: string): Promise<boolean> {
    const updated = await rows<{ id: string }>(
      db,
      `UPDATE batch_jobs SET status = 'failed', phase = 'done', error = $3, finished_at = now(), lease_owner = NULL, lease_until = NULL
       WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') RETURNING id`,
      [tenantId, id, error.slice(0, 2000)],
    );
    if (updated.length) await this.cancelOpenPartitions(db, tenantId, id);
    return updated.length === 1;
  }

  async cancelJob(db: Db, tenantId: string, id: string): Promise<boolean> {
    const updated = await rows<{ id: string }>(
      db,
      `UPDATE batch_jobs SET status = 'cancelled', phase = 'done', finished_at = now(), lease_owner = NULL, lease_until = NULL
       WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') RETURNING id`,
      [tenantId, id],
    );
    if (updated.length) await this.cancelOpenPartitions(db, tenantId, id);
    return updated.length === 1;
  }

  private async cancelOpenPartitions(db: Db, tenantId: string, jobId: string): Promise<void> {
    await db.query(
      `UPDATE batch_partitions SET status = 'cancelled', dispatched = false, lease_owner = NULL, lease_until = NULL, finished_at = now()
       WHERE tenant_id = $1 AND job_id = $2 AND status IN ('pending', 'running')`,
      [tenantId, jobId],
    );
  }

  async finishCommit(db: Db, tenantId: string, id: string, owner: string, commit: { seq: number; outputPath: string; outputRows: number }): Promise<boolean> {
    const updated = await rows<{ id: string }>(
      db,
      `UPDATE batch_jobs SET status = 'succeeded', phase = 'done', commit_seq = $4, output_path = $5, output_rows = $6,
         committed_at = now(), finished_at = now(), lease_owner = NULL, lease_until = NULL, error = NULL
       WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running' AND phase = 'committing' RETURNING id`,
      [tenantId, id, owner, commit.seq, commit.outputPath, commit.outputRows],
    );
    return updated.length === 1;
  }

  /** Retry: failed and cancelled partitions run again (with a fresh retry budget). */
  async reopenPartitions(db: Db, tenantId: string, jobId: string, except: readonly string[] = []): Promise<number> {
    const reopened = await rows<{ id: string }>(
      db,
      `UPDATE batch_partitions SET status = 'pending', dispatched = false, failures = 0, retry_after = NULL, rows_failed = 0,
         rows_out = NULL, row_errors = NULL, error = NULL, finished_at = NULL
       WHERE tenant_id = $1 AND job_id = $2 AND status IN ('failed', 'cancelled') AND NOT (id = ANY($3::uuid[])) RETURNING id`,
      [tenantId, jobId, except],
    );
    return reopened.length;
  }

  async reopenJob(db: Db, tenantId: string, id: string, phase: JobPhase): Promise<void> {
    await db.query(
      // Scoring (re)starts now: the rate counts from here (planning sets it for a job planned again).
      `UPDATE batch_jobs SET status = $3, phase = $4, error = NULL, finished_at = NULL, lease_owner = NULL, lease_until = NULL, queued_at = now(),
         scoring_started_at = CASE WHEN $4 = 'queued' THEN scoring_started_at ELSE now() END
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, phase === JobPhase.Queued ? JobStatus.Queued : JobStatus.Running, phase],
    );
  }

  // ---- partitions ---------------------------------------------------------------------------

  async listPartitions(db: Db, tenantId: string, jobId: string, statuses?: PartitionStatus[]): Promise<PartitionRow[]> {
    const params: unknown[] = [tenantId, jobId];
    let filter = '';
    if (statuses) {
      params.push(statuses);
      filter = ` AND status = ANY($3)`;
    }
    return rows<PartitionRow>(db, `SELECT ${PARTITION_COLUMNS} FROM batch_partitions WHERE tenant_id = $1 AND job_id = $2${filter} ORDER BY seq`, params);
  }

  /** Starts an attempt on each dispatched partition of a scoring job; answers those claimed (in seq order). */
  async claimPartitions(wanted: ReadonlyArray<{ tenantId: string; id: string }>, owner: string, leaseSeconds: number): Promise<PartitionRow[]> {
    if (!wanted.length) return [];
    return rows<PartitionRow>(
      this.dataSource,
      `WITH claimed AS (
         UPDATE batch_partitions p SET status = 'running', attempt = attempt + 1, lease_owner = $3,
           lease_until = now() + $4 * interval '1 second', started_at = now(), dispatched = false
         FROM batch_jobs j, unnest($1::uuid[], $2::uuid[]) AS w(tenant_id, id)
         WHERE p.tenant_id = w.tenant_id AND p.id = w.id AND p.status = 'pending'
           AND j.tenant_id = p.tenant_id AND j.id = p.job_id AND j.status = 'running' AND j.phase = 'scoring'
         RETURNING ${prefixed(PARTITION_COLUMNS, 'p')})
       SELECT * FROM claimed ORDER BY "jobId", seq`,
      [wanted.map((w) => w.tenantId), wanted.map((w) => w.id), owner, leaseSeconds],
    );
  }

  /**
   * Extends the leases this process holds (one statement for all of them) and answers, per
   * partition still ours, its job's status: the caller stops work that lost its lease or whose
   * job was cancelled.
   */
  async renewPartitionLeases(owner: string, held: ReadonlyArray<{ tenantId: string; id: string; attempt: number }>, leaseSeconds: number): Promise<Map<string, JobStatus>> {
    if (!held.length) return new Map();
    const renewed = await rows<{ id: string; status: JobStatus }>(
      this.dataSource,
      `UPDATE batch_partitions p SET lease_until = now() + $5 * interval '1 second'
       FROM batch_jobs j, unnest($2::uuid[], $3::uuid[], $4::int[]) AS h(tenant_id, id, attempt)
       WHERE p.tenant_id = h.tenant_id AND p.id = h.id AND p.attempt = h.attempt AND p.lease_owner = $1 AND p.status = 'running'
         AND j.tenant_id = p.tenant_id AND j.id = p.job_id
       RETURNING p.id, j.status`,
      [owner, held.map((h) => h.tenantId), held.map((h) => h.id), held.map((h) => h.attempt), leaseSeconds],
    );
    return new Map(renewed.map((r) => [r.id, r.status]));
  }

  /** Records finished attempts in one statement, each fenced by its attempt number; answers the ids recorded. */
  async completePartitions(
    db: Db,
    done: ReadonlyArray<{ tenantId: string; id: string; attempt: number; rowsOut: number; rowsFailed: number; bytesOut: number; checksum: string; rowErrors: RowError[]; valueKinds: number[]; columnsWritten: number }>,
  ): Promise<Set<string>> {
    if (!done.length) return new Set();
    const items = done.map((d) => ({
      tenant_id: d.tenantId,
      id: d.id,
      attempt: d.attempt,
      rows_out: d.rowsOut,
      rows_failed: d.rowsFailed,
      bytes_out: d.bytesOut,
      checksum: d.checksum,
      row_errors: d.rowErrors,
      value_kinds: d.valueKinds,
      columns_written: d.columnsWritten,
    }));
    const updated = await rows<{ id: string }>(
      db,
      `UPDATE batch_partitions p SET status = 'succeeded', rows_out = x.rows_out, rows_failed = x.rows_failed, bytes_out = x.bytes_out,
         checksum = x.checksum, row_errors = x.row_errors, value_kinds = x.value_kinds, columns_written = x.columns_written,
         error = NULL, finished_at = now(), lease_owner = NULL, lease_until = NULL
       FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, id uuid, attempt int, rows_out int, rows_failed int, bytes_out bigint,
         checksum text, row_errors jsonb, value_kinds jsonb, columns_written int)
       WHERE p.tenant_id = x.tenant_id AND p.id = x.id AND p.attempt = x.attempt AND p.status = 'running'
       RETURNING p.id`,
      [JSON.stringify(items)],
    );
    return new Set(updated.map((u) => u.id));
  }

  /**
   * A failed attempt: back to pending (after a backoff) while retries remain, else failed with
   * all its rows counted as failed. Answers what happened, or null when the attempt was superseded.
   */
  async failPartitionAttempt(db: Db, tenantId: string, id: string, attempt: number, error: string, retriesLeft: boolean, backoffSeconds: number): Promise<'retry' | 'failed' | null> {
    const [row] = await rows<{ status: string }>(
      db,
      `UPDATE batch_partitions SET failures = failures + 1, error = $4, lease_owner = NULL, lease_until = NULL,
         status = CASE WHEN $5::boolean THEN 'pending' ELSE 'failed' END,
         retry_after = CASE WHEN $5::boolean THEN now() + $6 * interval '1 second' END,
         rows_failed = CASE WHEN $5::boolean THEN 0 ELSE rows_in END,
         rows_out = CASE WHEN $5::boolean THEN NULL ELSE 0 END,
         finished_at = CASE WHEN $5::boolean THEN NULL ELSE now() END
       WHERE tenant_id = $1 AND id = $2 AND attempt = $3 AND status = 'running' RETURNING status`,
      [tenantId, id, attempt, error.slice(0, 2000), retriesLeft, backoffSeconds],
    );
    return row ? (row.status === 'pending' ? 'retry' : 'failed') : null;
  }

  /** A retry found a model for a partition whose route had none. */
  async setPartitionModel(db: Db, tenantId: string, id: string, model: string, version: number): Promise<void> {
    await db.query(`UPDATE batch_partitions SET model = $3, version = $4 WHERE tenant_id = $1 AND id = $2`, [tenantId, id, model, version]);
  }

  /** A partition whose output file did not match its checksum at commit runs again. */
  async rerunPartition(db: Db, tenantId: string, id: string, why: string): Promise<void> {
    await db.query(
      `UPDATE batch_partitions SET status = 'pending', dispatched = false, error = $3, checksum = NULL, rows_out = NULL, finished_at = NULL
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, why],
    );
  }

  /**
   * Marks the job's next pending partitions dispatched, up to `maxConcurrency` in flight, and
   * answers them (with the wait a retry backoff asks for) and whether the job has any partition
   * still pending or running — one round trip for what the coordinator asks after every batch.
   * Call with the job row locked (FOR UPDATE) in `db`.
   */
  async takeDispatchable(db: Db, tenantId: string, jobId: string, maxConcurrency: number): Promise<{ taken: Array<{ id: string; delaySeconds: number }>; open: boolean }> {
    const [row] = await rows<{ taken: Array<{ id: string; delaySeconds: number | null }>; open: boolean }>(
      db,
      `WITH in_flight AS (
         SELECT count(*)::int AS n FROM batch_partitions
         WHERE tenant_id = $1 AND job_id = $2 AND (status = 'running' OR (status = 'pending' AND dispatched))
       ), next AS (
         SELECT id FROM batch_partitions
         WHERE tenant_id = $1 AND job_id = $2 AND status = 'pending' AND NOT dispatched
         ORDER BY seq LIMIT GREATEST(0, $3 - (SELECT n FROM in_flight))
       ), taken AS (
         UPDATE batch_partitions p SET dispatched = true, dispatched_at = now() FROM next
         WHERE p.tenant_id = $1 AND p.id = next.id
         RETURNING p.id, GREATEST(0, EXTRACT(EPOCH FROM (p.retry_after - now())))::float8 AS "delaySeconds"
       )
       SELECT COALESCE((SELECT json_agg(json_build_object('id', id, 'delaySeconds', "delaySeconds")) FROM taken), '[]'::json) AS taken,
         EXISTS (SELECT 1 FROM batch_partitions WHERE tenant_id = $1 AND job_id = $2 AND status IN ('pending', 'running')) AS open`,
      [tenantId, jobId, maxConcurrency],
    );
    return { taken: row.taken.map((t) => ({ id: t.id, delaySeconds: t.delaySeconds ?? 0 })), open: row.open };
  }

  /**
   * Partition counts by status and row totals: what progress and the completion check need.
   * The rows finished from `since` on are counted apart (doneSince), for the job's rate.
   */
  async progress(db: Db, tenantId: string, jobId: string, since: Date | null = null): Promise<JobProgress> {
    const [r] = await rows<Record<string, number>>(
      db,
      `SELECT count(*)::int AS total,
         count(*) FILTER (WHERE status = 'pending')::int AS pending,
         count(*) FILTER (WHERE status = 'running')::int AS running,
         count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
         COALESCE(sum(rows_in), 0)::float8 AS "rowsTotal",
         COALESCE(sum(rows_in) FILTER (WHERE status IN ('succeeded', 'failed')), 0)::float8 AS "rowsDone",
         COALESCE(sum(rows_out) FILTER (WHERE status = 'succeeded'), 0)::float8 AS "rowsSucceeded",
         COALESCE(sum(rows_failed) FILTER (WHERE status IN ('succeeded', 'failed')), 0)::float8 AS "rowsFailed",
         COALESCE(sum(rows_in) FILTER (WHERE status IN ('succeeded', 'failed') AND finished_at >= $3), 0)::float8 AS "rowsDoneSince"
       FROM batch_partitions WHERE tenant_id = $1 AND job_id = $2`,
      [tenantId, jobId, since],
    );
    return {
      partitions: { total: r.total, pending: r.pending, running: r.running, succeeded: r.succeeded, failed: r.failed, cancelled: r.cancelled },
      rows: { total: r.rowsTotal, done: r.rowsDone, succeeded: r.rowsSucceeded, failed: r.rowsFailed, doneSince: r.rowsDoneSince },
    };
  }

  /** Partitions that failed or lost rows, for the job's error list (the first `limit`), and how many there are. */
  async partitionErrors(tenantId: string, jobId: string, limit: number): Promise<{ partitions: PartitionRow[]; total: number }> {
    const found = await rows<PartitionRow & { errorsTotal: number }>(
      this.dataSource,
      `SELECT ${PARTITION_COLUMNS}, count(*) OVER ()::int AS "errorsTotal" FROM batch_partitions
       WHERE tenant_id = $1 AND job_id = $2 AND (status = 'failed' OR rows_failed > 0 OR (error IS NOT NULL AND status <> 'succeeded'))
       ORDER BY seq LIMIT $3`,
      [tenantId, jobId, limit],
    );
    return { partitions: found.map(({ errorsTotal: _total, ...partition }) => partition), total: found[0]?.errorsTotal ?? 0 };
  }

  // ---- maintenance (across tenants: each result is then handled within its tenant) -----------

  /** Partitions whose worker stopped renewing its lease (or, with `notOwner`, any not held by that owner). */
  async reclaimExpiredPartitions(notOwner: string | null): Promise<Array<{ tenantId: string; jobId: string }>> {
    return rows(
      this.dataSource,
      `UPDATE batch_partitions SET status = 'pending', dispatched = false, lease_owner = NULL, lease_until = NULL
       WHERE status = 'running' AND (lease_until < now() OR ($1::text IS NOT NULL AND lease_owner IS DISTINCT FROM $1::text))
       RETURNING tenant_id AS "tenantId", job_id AS "jobId"`,
      [notOwner],
    );
  }

  /**
   * Jobs planning or committing whose worker stopped renewing its lease (or, with `notOwner`,
   * held by anyone else): their lease is made claimable and they are answered for a new message.
   */
  async stalledJobs(notOwner: string | null): Promise<Array<{ tenantId: string; id: string; phase: JobPhase }>> {
    return rows(
      this.dataSource,
      `UPDATE batch_jobs SET lease_until = LEAST(lease_until, now() - interval '1 second')
       WHERE id IN (
         SELECT id FROM batch_jobs
         WHERE status IN ('queued', 'running') AND phase IN ('planning', 'committing')
           AND lease_owner IS NOT NULL AND (lease_until < now() OR ($1::text IS NOT NULL AND lease_owner <> $1::text))
         LIMIT 100)
       RETURNING tenant_id AS "tenantId", id, phase`,
      [notOwner],
    );
  }

  /**
   * Messages that may have died with a worker between fetch and claim: partitions dispatched
   * and plan/commit phases queued longer than `seconds` ago without being claimed. Their
   * timestamps are refreshed, so each is re-sent at most once per period (a duplicate finds
   * nothing to claim and completes).
   */
  async staleDispatches(seconds: number): Promise<Array<{ tenantId: string; jobId: string; partitionId: string }>> {
    return rows(
      this.dataSource,
      `UPDATE batch_partitions SET dispatched_at = now()
       WHERE status = 'pending' AND dispatched AND dispatched_at < now() - $1 * interval '1 second'
       RETURNING tenant_id AS "tenantId", job_id AS "jobId", id AS "partitionId"`,
      [seconds],
    );
  }

  async staleQueuedJobs(seconds: number): Promise<Array<{ tenantId: string; id: string; phase: JobPhase }>> {
    return rows(
      this.dataSource,
      `UPDATE batch_jobs SET queued_at = now()
       WHERE status IN ('queued', 'running') AND phase IN ('queued', 'committing') AND lease_owner IS NULL
         AND queued_at < now() - $1 * interval '1 second'
       RETURNING tenant_id AS "tenantId", id, phase`,
      [seconds],
    );
  }

  /** Scoring jobs with room for more partitions in flight (a safety net for lost dispatches). */
  async jobsWithIdleRoom(): Promise<Array<{ tenantId: string; id: string }>> {
    return rows(
      this.dataSource,
      `SELECT j.tenant_id AS "tenantId", j.id FROM batch_jobs j
       WHERE j.status = 'running' AND j.phase = 'scoring'
         AND EXISTS (SELECT 1 FROM batch_partitions p WHERE p.tenant_id = j.tenant_id AND p.job_id = j.id AND p.status = 'pending' AND NOT p.dispatched
                     AND (p.retry_after IS NULL OR p.retry_after < now()))
         AND NOT EXISTS (SELECT 1 FROM batch_partitions p WHERE p.tenant_id = j.tenant_id AND p.job_id = j.id
                     AND (p.status = 'running' OR (p.status = 'pending' AND p.dispatched)))
       LIMIT 100`,
      [],
    );
  }
}
