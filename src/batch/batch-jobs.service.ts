import { Injectable } from '@nestjs/common';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context';
import { BatchJobSpec, parseJobSpec } from './batch-job-spec';
import { BatchInputs } from './batch-inputs';
import { BatchPaths } from './batch-paths';
import { BatchPlanner } from './batch-planner.service';
import { partitionView } from './partition-view';
import { BatchRetention } from './batch-retention.service';
import { BatchError, BatchErrorCode, invalidJob } from './batch.error';
import { BatchRepository } from './batch.repository';
import { JobPhase, JobProgress, JobRow, JobStatus, PartitionRow, PartitionStatus, PinnedVersion } from './batch.types';
import { missingColumnsMessage, openInput } from './io/input-reader';
import { CONTENT_TYPES } from './io/output-format';
import { JobCoordinator } from './job-coordinator.service';
import { jobColumns } from './output-columns';
import { BatchQueue, QUEUES } from './queue/batch-queue';
import { isUuid } from '../common/uuid';
import { AppConfig } from '../config/app-config';

const MAX_ERRORS_SHOWN = 100;

/** The batch jobs API: submit, read, list, cancel, retry, output, delete. */
@Injectable()
export class BatchJobsService {
  constructor(
    private readonly repository: BatchRepository,
    private readonly queue: BatchQueue,
    private readonly planner: BatchPlanner,
    private readonly coordinator: JobCoordinator,
    private readonly paths: BatchPaths,
    private readonly retention: BatchRetention,
    private readonly inputs: BatchInputs,
    private readonly config: AppConfig,
  ) {}

  async submit(ctx: AuthContext, body: unknown): Promise<{ id: string; status: JobStatus }> {
    const spec = parseJobSpec(body);
    const file = await this.inputs.resolve(ctx.tenantId, spec.input.uri);
    await this.checkColumns(file, spec);
    const job = await this.repository.transaction((tx) => this.enqueue(tx, { tenantId: ctx.tenantId, spec, principal: ctx.principal, modelScope: ctx.modelScope, scheduleId: null }));
    return { id: job.id, status: job.status };
  }

  /** Records a queued job and its plan message in one transaction (also used by schedules). */
  async enqueue(tx: EntityManager, job: { tenantId: string; spec: BatchJobSpec; principal: string; modelScope: readonly string[] | null; scheduleId: string | null }): Promise<JobRow> {
    const row = await this.repository.createJob(tx, job);
    await this.queue.send(QUEUES.plan, { tenantId: job.tenantId, jobId: row.id }, { tx });
    return row;
  }

  async get(ctx: AuthContext, id: string): Promise<Record<string, unknown>> {
    return this.view(await this.find(ctx, id));
  }

  async list(ctx: AuthContext, query: Record<string, unknown>): Promise<{ items: Array<Record<string, unknown>>; nextCursor: string | null }> {
    for (const key of Object.keys(query)) if (!['limit', 'cursor', 'status'].includes(key)) throw invalidJob(`Unknown query parameter '${key}': use limit, cursor, status`, key);
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalidJob('limit must be an integer from 1 to 500', 'limit');
    const status = query.status as JobStatus | undefined;
    if (status !== undefined && !Object.values(JobStatus).includes(status)) throw invalidJob(`status must be one of ${Object.values(JobStatus).join(', ')}`, 'status');
    let before: { createdAt: string; id: string } | undefined;
    if (query.cursor !== undefined) {
      try {
        const [createdAt, cursorId] = JSON.parse(Buffer.from(String(query.cursor), 'base64url').toString('utf8')) as [string, string];
        if (Number.isNaN(Date.parse(createdAt)) || !isUuid(cursorId)) throw new Error();
        before = { createdAt, id: cursorId };
      } catch {
        throw invalidJob('cursor is not a nextCursor this API gave', 'cursor');
      }
    }
    const jobs = await this.repository.listJobs(ctx.tenantId, { limit: limit + 1, status, before });
    const page = jobs.slice(0, limit);
    const items = [];
    for (const job of page) items.push(await this.view(job, { errors: false }));
    const last = page[page.length - 1];
    const nextCursor = jobs.length > limit && last ? Buffer.from(JSON.stringify([last.cursorAt, last.id])).toString('base64url') : null;
    return { items, nextCursor };
  }

  async cancel(ctx: AuthContext, id: string): Promise<Record<string, unknown>> {
    await this.find(ctx, id);
    await this.repository.transaction(async (tx) => {
      const job = await this.repository.findJob(tx, ctx.tenantId, id, true);
      if (!job) throw jobNotFound(id); // deleted meanwhile
      if (job.status === JobStatus.Cancelled) return;
      if (job.status === JobStatus.Succeeded || job.status === JobStatus.Failed) {
        throw new BatchError(BatchErrorCode.JobStateConflict, `Job ${id} has already ${job.status}; only a queued or running job can be cancelled`, { status: job.status });
      }
      await this.repository.cancelJob(tx, ctx.tenantId, id);
    });
    return this.get(ctx, id);
  }

  /**
   * Runs the failed and cancelled partitions again (routes that had no model are resolved
   * again first: a model registered since is pinned now). A job stopped before its plan was
   * recorded is planned again. Allowed for failed and cancelled jobs, and for succeeded jobs
   * that left rows out (within errorThreshold): their output is committed anew.
   */
  async retry(ctx: AuthContext, id: string): Promise<Record<string, unknown>> {
    const job = await this.find(ctx, id);
    if (job.status === JobStatus.Queued || job.status === JobStatus.Running) {
      throw new BatchError(BatchErrorCode.JobStateConflict, `Job ${id} is ${job.status}; retry a failed, cancelled or partly failed job`, { status: job.status });
    }
    const partitions = await this.repository.listPartitions(this.repository.dataSource, ctx.tenantId, id);
    const reopen = partitions.filter((p) => p.status === PartitionStatus.Failed || p.status === PartitionStatus.Cancelled);
    const planned = job.partitionsTotal !== null;
    // Every partition done, yet no commit: cancelled while it committed, or its commit failed (a full
    // disk, say). Nothing to score again, only the commit to run — unless errorThreshold failed it.
    const threshold = job.spec.errorThreshold;
    const failedRows = partitions.reduce((sum, p) => sum + p.rowsFailed, 0);
    const commitOnly = planned && !reopen.length && job.status !== JobStatus.Succeeded && (threshold < 0 || failedRows <= threshold);
    if (planned && !reopen.length && !commitOnly) {
      throw new BatchError(BatchErrorCode.JobStateConflict, `Job ${id} has no failed or cancelled partitions to run again`, { status: job.status });
    }
    // Resolve outside the transaction: on the embedded database it would hold the only connection.
    const resolved = new Map<string, PinnedVersion>();
    const pinned: Record<string, PinnedVersion> = { ...job.pinned };
    const added: PinnedVersion[] = [];
    const unrouted = reopen.filter((r) => r.model === null);
    const routes = unrouted.length ? await this.planner.routeResolver(job, unrouted.map((r) => r.routeKey)) : null;
    for (const p of unrouted) {
      const result = await routes!.resolve(p.routeKey);
      if (!('pin' in result)) continue;
      const pin = pinned[result.pin.model] ?? result.pin;
      if (!pinned[pin.model]) {
        pinned[pin.model] = pin;
        added.push(pin);
      }
      resolved.set(p.id, pin);
    }
    const missing = reopen.filter((p) => p.model === null && !resolved.has(p.id));
    const stillMissing = missing.map((p) => p.id);
    const missingRows = missing.reduce((sum, p) => sum + p.rowsIn, 0);
    if (planned && !commitOnly && (stillMissing.length === reopen.length || (threshold >= 0 && missingRows > threshold))) {
      throw new BatchError(
        BatchErrorCode.JobStateConflict,
        `Job ${id}: ${missingRows} row(s) still route to no model${threshold >= 0 ? `, more than errorThreshold ${threshold}` : ''}; register the models, then retry`,
        { status: job.status, rows: missingRows },
      );
    }
    await this.repository.transaction(async (tx) => {
      const locked = await this.repository.findJob(tx, ctx.tenantId, id, true);
      if (!locked) throw jobNotFound(id); // deleted meanwhile
      if (locked.status === JobStatus.Queued || locked.status === JobStatus.Running) return; // a concurrent retry won
      if (!planned) {
        await this.repository.reopenJob(tx, ctx.tenantId, id, JobPhase.Queued);
        await this.queue.send(QUEUES.plan, { tenantId: ctx.tenantId, jobId: id }, { tx });
        return;
      }
      // Every pinned model, not only the added ones: a column an earlier one fills must hold the same for the new ones.
      if (added.length) await this.repository.updatePins(tx, ctx.tenantId, id, pinned, jobColumns(job.spec.passthrough, job.spec.input.format, Object.values(pinned), job.columns));
      for (const [partitionId, pin] of resolved) await this.repository.setPartitionModel(tx, ctx.tenantId, partitionId, pin.model, pin.version);
      await this.repository.reopenPartitions(tx, ctx.tenantId, id, stillMissing);
      // Within the tenant's limit of running jobs: else it waits queued, first in line (it is older).
      const status = await this.repository.reopenWithinLimit(tx, ctx.tenantId, id, this.config.MMS_TENANT_MAX_RUNNING_BATCH_JOBS);
      if (status === JobStatus.Running) await this.coordinator.advance(tx, ctx.tenantId, id);
    });
    return this.get(ctx, id);
  }

  /**
   * Deletes a finished job with its files (staging and every committed output) and its ledger.
   * A queued or running job is refused: cancel it first, so that no worker is still writing.
   */
  async delete(ctx: AuthContext, id: string): Promise<void> {
    const outcome = isUuid(id) ? await this.retention.deleteJob(ctx.tenantId, id) : { deleted: false, status: null };
    if (outcome.deleted) return;
    if (outcome.status === null) throw jobNotFound(id);
    throw new BatchError(BatchErrorCode.JobStateConflict, `Job ${id} is ${outcome.status}; cancel it before deleting it`, { status: outcome.status });
  }

  /**
   * The committed output file, opened for streaming (the handle keeps it readable even if a
   * re-commit removes it while it streams).
   */
  async output(ctx: AuthContext, id: string): Promise<{ handle: fsp.FileHandle; size: number; contentType: string; filename: string }> {
    const { job, value: handle } = await this.readCommitted(ctx, id, (file) => fsp.open(file, 'r'));
    try {
      const { size } = await handle.stat();
      return { handle, size, contentType: CONTENT_TYPES[job.spec.output.format], filename: `${id}.${job.spec.output.format}` };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async manifest(ctx: AuthContext, id: string): Promise<unknown> {
    const { value } = await this.readCommitted(ctx, id, (file) => fsp.readFile(path.join(path.dirname(file), 'manifest.json'), 'utf8'));
    return JSON.parse(value);
  }

  /**
   * Reads from the job's committed output. A retry of a succeeded job commits anew
   * (`output-2/`) and then removes the old output: a request that read the job just before
   * would find its file gone, and answer that there is no output (or fail) while there is a new
   * one. The job is read again once when the file is missing.
   */
  private async readCommitted<T>(ctx: AuthContext, id: string, read: (file: string) => Promise<T>): Promise<{ job: JobRow; value: T }> {
    for (let attempt = 1; ; attempt++) {
      const job = await this.find(ctx, id);
      if (!job.outputPath) {
        throw new BatchError(BatchErrorCode.OutputNotReady, `Job ${id} has no committed output (status ${job.status})`, { status: job.status });
      }
      try {
        return { job, value: await read(this.paths.absolute(job.outputPath)) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        if (attempt >= 2) throw new BatchError(BatchErrorCode.OutputNotReady, `The output of job ${id} is no longer in the data directory`, { status: job.status });
      }
    }
  }

  private async find(ctx: AuthContext, id: string): Promise<JobRow> {
    const job = isUuid(id) ? await this.repository.findJob(this.repository.dataSource, ctx.tenantId, id) : null;
    if (!job) throw jobNotFound(id);
    return job;
  }

  private async checkColumns(file: string, spec: BatchJobSpec): Promise<void> {
    const needed = [...(spec.route.by === 'model' ? [spec.route.column] : spec.route.columns), ...spec.passthrough, ...spec.features];
    let missing: string[];
    let found: string[];
    try {
      const input = await openInput(file, spec.input.format, needed);
      missing = input.missing;
      found = input.columns;
      await input.close();
    } catch (error) {
      // A reader's own failure (a TypeError deep in a Parquet decoder, say) says nothing useful to the client.
      const why = error instanceof TypeError || error instanceof RangeError ? 'its contents do not read as that format' : (error as Error).message;
      throw invalidJob(`input.uri is not a readable ${spec.input.format} file: ${why}`, 'input.uri');
    }
    if (missing.length) throw invalidJob(missingColumnsMessage(missing, found), 'input.uri');
  }

  /** Why a queued job has not started, when it is its tenant's limit of running jobs; else null. */
  private async waitingReason(job: JobRow): Promise<string | null> {
    if (job.status !== JobStatus.Queued || (job.phase !== JobPhase.Queued && job.phase !== JobPhase.Scoring)) return null;
    const { running, limit, olderWaiting } = await this.repository.runningJobs(job.tenantId, this.config.MMS_TENANT_MAX_RUNNING_BATCH_JOBS, job);
    if (limit <= 0) return null;
    const rule = `at most ${limit} run at once (the tenant's maxRunningBatchJobs, by default MMS_TENANT_MAX_RUNNING_BATCH_JOBS)`;
    if (running >= limit) return `${running} jobs of this tenant are running and ${rule}: this one starts when one of them ends, the tenant's queued jobs oldest first`;
    if (olderWaiting > 0) return `${olderWaiting} older job(s) of this tenant start first (its jobs start oldest first, ${rule}): this one follows as slots free up`;
    return null;
  }

  private async view(job: JobRow, options: { errors?: boolean } = {}): Promise<Record<string, unknown>> {
    const progress = await this.repository.progress(this.repository.dataSource, job.tenantId, job.id, job.scoringStartedAt);
    const { spec } = job;
    const errors = options.errors === false ? undefined : await this.repository.partitionErrors(job.tenantId, job.id, MAX_ERRORS_SHOWN);
    return {
      id: job.id,
      status: job.status,
      phase: job.phase,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      scheduleId: job.scheduleId,
      input: spec.input,
      route: spec.route,
      features: spec.features,
      passthrough: spec.passthrough,
      options: { miniBatchSize: spec.miniBatchSize, maxConcurrency: spec.maxConcurrency, errorThreshold: spec.errorThreshold, maxRetries: spec.maxRetries },
      progress: progressView(job, progress),
      modelVersions: Object.fromEntries(Object.values(job.pinned).map((p) => [p.model, p.version])),
      output: {
        format: spec.output.format,
        location: job.outputPath,
        manifest: job.outputPath ? path.posix.join(path.posix.dirname(job.outputPath), 'manifest.json') : null,
        rows: job.outputRows,
        committedAt: job.committedAt,
        url: job.outputPath ? `/v1/batch-jobs/${job.id}/output` : null,
      },
      error: job.error,
      waiting: await this.waitingReason(job),
      // The first MAX_ERRORS_SHOWN partitions with errors; errorsTotal says how many there are (the manifest lists all).
      ...(errors ? { errors: errors.partitions.map((p) => errorView(p, spec)), errorsTotal: errors.total } : {}),
    };
  }
}

function progressView(job: JobRow, p: JobProgress) {
  const rowsTotal = job.rowsTotal ?? 0;
  const since = job.scoringStartedAt ?? job.startedAt;
  const until = job.finishedAt ?? new Date();
  const seconds = since ? Math.max(0.001, (new Date(until).getTime() - new Date(since).getTime()) / 1000) : 0;
  // From the rows finished since scoring (re)started: a retry's rate is its own, not diluted by the pause before it.
  const doneSince = job.scoringStartedAt ? p.rows.doneSince : p.rows.done;
  const rate = seconds > 0 && doneSince > 0 ? doneSince / seconds : 0;
  const remaining = Math.max(0, rowsTotal - p.rows.done);
  const active = job.status === JobStatus.Running || job.status === JobStatus.Queued;
  return {
    partitions: { ...p.partitions, total: job.partitionsTotal ?? p.partitions.total, done: p.partitions.succeeded + p.partitions.failed },
    rows: { total: job.rowsTotal, done: p.rows.done, succeeded: p.rows.succeeded, failed: p.rows.failed },
    rowsPerSecond: Math.round(rate * 10) / 10,
    etaSeconds: active && rate > 0 ? Math.ceil(remaining / rate) : active ? null : 0,
  };
}

function errorView(p: PartitionRow, spec: BatchJobSpec) {
  return { partition: p.seq, ...partitionView(p, spec), error: p.error, ...(p.rowErrors?.length ? { rows: p.rowErrors } : {}) };
}

function jobNotFound(id: string): BatchError {
  return new BatchError(BatchErrorCode.JobNotFound, `Batch job '${String(id).slice(0, 64)}' not found`, { id: String(id).slice(0, 64) });
}
