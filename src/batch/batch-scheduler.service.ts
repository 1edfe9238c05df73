import { Injectable, Logger } from '@nestjs/common';
import parser from 'cron-parser';
import { EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { checkRelativeUri } from './io/data-path';
import { isUuid } from '../common/uuid';
import { BatchJobsService } from './batch-jobs.service';
import { checkUriPlaceholders, expandUri, object, parseJobSpec } from './batch-job-spec';
import { BatchError, BatchErrorCode, invalidJob } from './batch.error';
import { BatchSchedulesRepository, ScheduleRow } from './batch-schedules.repository';

const SCHEDULE_FIELDS = new Set(['cron', 'job', 'name', 'timezone']);

/**
 * Cron schedules per tenant. Kept in our own table rather than in pg-boss's scheduler: pg-boss
 * 10 holds one schedule per queue name and checks them about once a minute, while tenants
 * need any number of schedules, each firing a job with its own body. Every working process
 * looks for due schedules every MMS_BATCH_POLL_MS (at least 1 s); `FOR UPDATE SKIP LOCKED`
 * and the next firing time written in the same transaction as the job make each firing happen
 * once across all processes. Missed firings (everything down) are not caught up: the next one
 * is computed from now.
 */
@Injectable()
export class BatchScheduler {
  private readonly logger = new Logger('BatchSchedules');
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(
    private readonly config: AppConfig,
    private readonly schedules: BatchSchedulesRepository,
    private readonly jobs: BatchJobsService,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.max(1000, this.config.MMS_BATCH_POLL_MS));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async create(ctx: AuthContext, body: unknown): Promise<Record<string, unknown>> {
    const obj = object(body, 'The request body');
    for (const key of Object.keys(obj)) if (!SCHEDULE_FIELDS.has(key)) throw invalidJob(`Unknown field '${key}': a schedule takes cron, job, name and timezone`, key);
    const timezone = obj.timezone === undefined ? 'UTC' : obj.timezone;
    if (typeof timezone !== 'string' || !isTimeZone(timezone)) throw invalidJob('timezone must be an IANA time zone such as UTC or Europe/Paris', 'timezone');
    if (typeof obj.cron !== 'string') throw new BatchError(BatchErrorCode.InvalidCron, 'cron must be a cron expression such as "0 2 * * *"', { field: 'cron' });
    const nextRunAt = nextRun(obj.cron, timezone, new Date());
    if (obj.name !== undefined && (typeof obj.name !== 'string' || obj.name.length > 200)) throw invalidJob('name must be a string of at most 200 characters', 'name');
    const spec = parseJobSpec(obj.job, 'job.');
    checkRelativeUri(spec.input.uri, ctx.tenantId);
    checkUriPlaceholders(spec.input.uri, 'job.input.uri');
    const row = await this.schedules.create({
      tenantId: ctx.tenantId,
      name: (obj.name as string | undefined) ?? null,
      cron: obj.cron.trim(),
      timezone,
      job: spec,
      principal: ctx.principal,
      modelScope: ctx.modelScope,
      nextRunAt,
    });
    return view(row);
  }

  async list(ctx: AuthContext): Promise<{ items: Array<Record<string, unknown>> }> {
    return { items: (await this.schedules.list(ctx.tenantId)).map(view) };
  }

  async get(ctx: AuthContext, id: string): Promise<Record<string, unknown>> {
    return view(await this.find(ctx, id));
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    if (!isUuid(id) || !(await this.schedules.delete(ctx.tenantId, id))) throw notFound(id);
  }

  /** Fires a schedule now (its next cron firing is unchanged). */
  async runNow(ctx: AuthContext, id: string): Promise<{ id: string; status: string; scheduleId: string }> {
    await this.find(ctx, id);
    const job = await this.schedules.dataSource.transaction(async (tx: EntityManager) => {
      const schedule = await this.schedules.find(tx, ctx.tenantId, id, true);
      if (!schedule) throw notFound(id);
      return this.fire(tx, schedule, new Date(), null);
    });
    return { id: job.id, status: job.status, scheduleId: id };
  }

  /** One pass over due schedules. */
  async tick(): Promise<number> {
    if (this.ticking) return 0;
    this.ticking = true;
    try {
      return await this.schedules.dataSource.transaction(async (tx: EntityManager) => {
        const due = await this.schedules.lockDue(tx, 20);
        const now = new Date();
        for (const schedule of due) {
          const next = nextRun(schedule.cron, schedule.timezone, now);
          await this.fire(tx, schedule, now, next);
        }
        return due.length;
      });
    } catch (error) {
      this.logger.warn(`firing due schedules failed: ${(error as Error).message}`);
      return 0;
    } finally {
      this.ticking = false;
    }
  }

  private async fire(tx: EntityManager, schedule: ScheduleRow, at: Date, next: Date | null) {
    const spec = parseJobSpec(schedule.job);
    spec.input.uri = expandUri(spec.input.uri, at);
    const job = await this.jobs.enqueue(tx, { tenantId: schedule.tenantId, spec, principal: schedule.principal, modelScope: schedule.modelScope, scheduleId: schedule.id });
    await this.schedules.recordRun(tx, schedule.tenantId, schedule.id, job.id, next);
    this.logger.log(`schedule ${schedule.id} fired job ${job.id}`);
    return job;
  }

  private async find(ctx: AuthContext, id: string): Promise<ScheduleRow> {
    const row = isUuid(id) ? await this.schedules.find(this.schedules.dataSource, ctx.tenantId, id) : null;
    if (!row) throw notFound(id);
    return row;
  }
}

/** The next firing after `after`; 5-field cron, or 6 with seconds first. */
export function nextRun(cron: string, timezone: string, after: Date): Date {
  const fields = cron.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) throw new BatchError(BatchErrorCode.InvalidCron, `cron '${cron.slice(0, 100)}' must have 5 fields (minute hour day month weekday), or 6 with seconds first`, { field: 'cron' });
  try {
    return parser.parseExpression(cron.trim(), { currentDate: after, tz: timezone }).next().toDate();
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new BatchError(BatchErrorCode.InvalidCron, `cron '${cron.slice(0, 100)}' is not valid: ${(error as Error).message}`, { field: 'cron' });
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function notFound(id: string): BatchError {
  return new BatchError(BatchErrorCode.ScheduleNotFound, `Batch schedule '${String(id).slice(0, 64)}' not found`, { id: String(id).slice(0, 64) });
}

function view(row: ScheduleRow): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    job: row.job,
    nextRunAt: row.nextRunAt,
    lastRunAt: row.lastRunAt,
    lastJobId: row.lastJobId,
    runs: row.runs,
    createdAt: row.createdAt,
  };
}
