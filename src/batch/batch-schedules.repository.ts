import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface ScheduleRow {
  id: string;
  tenantId: string;
  name: string | null;
  cron: string;
  timezone: string;
  job: Record<string, unknown>;
  principal: string;
  modelScope: string[] | null;
  nextRunAt: Date;
  lastRunAt: Date | null;
  lastJobId: string | null;
  runs: number;
  createdAt: Date;
}

const COLUMNS = `id, tenant_id AS "tenantId", name, cron, timezone, job, principal, model_scope AS "modelScope", next_run_at AS "nextRunAt",
  last_run_at AS "lastRunAt", last_job_id AS "lastJobId", runs, created_at AS "createdAt"`;

/** Cron schedules of batch jobs, per tenant. */
@Injectable()
export class BatchSchedulesRepository {
  constructor(readonly dataSource: DataSource) {}

  async create(s: { tenantId: string; name: string | null; cron: string; timezone: string; job: object; principal: string; modelScope: readonly string[] | null; nextRunAt: Date }): Promise<ScheduleRow> {
    const [row] = (await this.dataSource.query(
      `INSERT INTO batch_schedules (tenant_id, name, cron, timezone, job, principal, model_scope, next_run_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [s.tenantId, s.name, s.cron, s.timezone, JSON.stringify(s.job), s.principal, s.modelScope, s.nextRunAt],
    )) as ScheduleRow[];
    return row;
  }

  async list(tenantId: string): Promise<ScheduleRow[]> {
    return (await this.dataSource.query(`SELECT ${COLUMNS} FROM batch_schedules WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId])) as ScheduleRow[];
  }

  async find(db: DataSource | EntityManager, tenantId: string, id: string, forUpdate = false): Promise<ScheduleRow | null> {
    const [row] = (await db.query(`SELECT ${COLUMNS} FROM batch_schedules WHERE tenant_id = $1 AND id = $2 ${forUpdate ? 'FOR UPDATE' : ''}`, [tenantId, id])) as ScheduleRow[];
    return row ?? null;
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    const [rows] = (await this.dataSource.query(`DELETE FROM batch_schedules WHERE tenant_id = $1 AND id = $2 RETURNING id`, [tenantId, id])) as [unknown[], number];
    return rows.length === 1;
  }

  /**
   * Due schedules across tenants (the only cross-tenant read here), locked so that each firing
   * happens in exactly one process; call inside a transaction, fire each, then `recordRun`.
   */
  async lockDue(tx: EntityManager, limit: number): Promise<ScheduleRow[]> {
    return (await tx.query(`SELECT ${COLUMNS} FROM batch_schedules WHERE next_run_at <= now() ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit])) as ScheduleRow[];
  }

  async recordRun(db: DataSource | EntityManager, tenantId: string, id: string, jobId: string, nextRunAt: Date | null): Promise<void> {
    await db.query(
      `UPDATE batch_schedules SET last_run_at = now(), last_job_id = $3, runs = runs + 1, next_run_at = COALESCE($4, next_run_at)
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, jobId, nextRunAt],
    );
  }
}
