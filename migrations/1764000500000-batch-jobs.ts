import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch scoring: jobs, the partition ledger and cron schedules. pg-boss keeps its own schema
 * (`pgboss`, created by pg-boss itself at start); these tables are the source of truth and the
 * queue only carries "work on this" messages.
 */
export class BatchJobs1764000500000 implements MigrationInterface {
  name = 'BatchJobs1764000500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE batch_jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        -- queued | running | succeeded | failed | cancelled (what API.md shows)
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        -- where a running job is: planning (reading and partitioning the input), scoring, committing
        phase text NOT NULL DEFAULT 'queued' CHECK (phase IN ('queued', 'planning', 'scoring', 'committing', 'done')),
        spec jsonb NOT NULL,
        principal text NOT NULL,
        model_scope text[],
        schedule_id uuid,
        -- model name -> the version pinned when the job started (with what is needed to run it)
        pinned jsonb NOT NULL DEFAULT '{}'::jsonb,
        -- output columns, fixed when the job is planned (outputs of later-resolved models are appended)
        columns jsonb,
        rows_total bigint,
        partitions_total integer,
        lease_owner text,
        lease_until timestamptz,
        -- when a plan or commit message was last sent (a message lost with a killed worker is sent again)
        queued_at timestamptz NOT NULL DEFAULT now(),
        plan_attempts integer NOT NULL DEFAULT 0,
        commit_seq integer NOT NULL DEFAULT 0,
        output_path text,
        output_rows bigint,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        scoring_started_at timestamptz,
        finished_at timestamptz,
        committed_at timestamptz
      )`);
    await q.query(`CREATE INDEX batch_jobs_tenant_created_idx ON batch_jobs (tenant_id, created_at DESC, id)`);
    await q.query(`CREATE INDEX batch_jobs_active_idx ON batch_jobs (phase) WHERE status IN ('queued', 'running')`);

    // The ledger: one row per partition chunk, the unit of work, retry and exactly-once output.
    await q.query(`
      CREATE TABLE batch_partitions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        job_id uuid NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        -- output order: partitions are concatenated by seq at commit
        seq integer NOT NULL,
        route_key text NOT NULL,
        chunk integer NOT NULL DEFAULT 0,
        model text,
        version integer,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
        -- a queue message is out for it (at most maxConcurrency per job are)
        dispatched boolean NOT NULL DEFAULT false,
        dispatched_at timestamptz,
        attempt integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        retry_after timestamptz,
        rows_in integer NOT NULL,
        rows_out integer,
        rows_failed integer NOT NULL DEFAULT 0,
        bytes_out bigint,
        checksum text,
        row_errors jsonb,
        value_kinds jsonb,
        -- how many of the job's columns its output file has (a retry may append columns later)
        columns_written integer,
        error text,
        lease_owner text,
        lease_until timestamptz,
        started_at timestamptz,
        finished_at timestamptz,
        UNIQUE (job_id, seq)
      )`);
    await q.query(`CREATE INDEX batch_partitions_tenant_job_idx ON batch_partitions (tenant_id, job_id, status)`);
    await q.query(`CREATE INDEX batch_partitions_running_idx ON batch_partitions (lease_until) WHERE status = 'running'`);

    await q.query(`
      CREATE TABLE batch_schedules (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text,
        cron text NOT NULL,
        timezone text NOT NULL DEFAULT 'UTC',
        job jsonb NOT NULL,
        principal text NOT NULL,
        model_scope text[],
        next_run_at timestamptz NOT NULL,
        last_run_at timestamptz,
        last_job_id uuid,
        runs integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX batch_schedules_tenant_idx ON batch_schedules (tenant_id, created_at)`);
    await q.query(`CREATE INDEX batch_schedules_due_idx ON batch_schedules (next_run_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE batch_schedules`);
    await q.query(`DROP TABLE batch_partitions`);
    await q.query(`DROP TABLE batch_jobs`);
  }
}
