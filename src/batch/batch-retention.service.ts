import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { BatchPaths } from './batch-paths';
import { BatchRetentionRepository, DeleteOutcome, ExpiredJob } from './batch-retention.repository';
import { isUuid } from '../common/uuid';

const FIRST_SWEEP_MS = 60_000;
const SWEEP_EVERY_MS = 5 * 60_000;
const DAY_MS = 24 * 60 * 60_000;
/** Jobs deleted per transaction, and at most per sweep (the rest waits for the next one). */
const JOBS_PER_CHUNK = 100;
const MAX_JOBS_PER_SWEEP = 5000;
/**
 * A job directory without a job row is left alone this long: a worker that was still finishing
 * when its job was deleted (a planner recreating its staging area) may have touched it since.
 */
const ORPHAN_AGE_MS = 60 * 60_000;
/** Tries at removing a job directory that files are still landing in (see removeDir). */
const REMOVE_ATTEMPTS = 5;
const REMOVE_RETRY_MS = 100;

export interface SweepResult {
  /** Jobs past MMS_BATCH_RETENTION_DAYS whose rows and files were removed. */
  jobs: ExpiredJob[];
  /** Job directories (relative to the data directory) that had no job row any more. */
  orphans: string[];
}

/**
 * Removes batch jobs: one on request (DELETE /v1/batch-jobs/{id}), and, in every process that
 * works the batch queue, finished jobs older than MMS_BATCH_RETENTION_DAYS, a minute after start
 * and then every five minutes. Rows go first, in one transaction (see BatchRetentionRepository),
 * then `batch/<tenant>/<job>/`. A process that dies in between leaves a directory without a
 * row; the sweep removes such orphans too, once they have been quiet for an hour.
 */
@Injectable()
export class BatchRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('BatchRetention');
  private timer?: NodeJS.Timeout;
  private running: Promise<SweepResult> | null = null;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: BatchRetentionRepository,
    private readonly paths: BatchPaths,
  ) {}

  onApplicationBootstrap(): void {
    // Sweeping is queue work: an API-only replica (MMS_BATCH_CONCURRENCY=0) leaves it to the workers.
    if (this.config.MMS_BATCH_CONCURRENCY === 0) return;
    this.schedule(FIRST_SWEEP_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Deletes a finished job of the tenant, rows then files; queued and running jobs are kept. */
  async deleteJob(tenantId: string, id: string): Promise<DeleteOutcome> {
    const outcome = await this.repository.deleteFinishedJob(tenantId, id);
    if (outcome.deleted) {
      await this.removeDir(this.paths.jobDir(tenantId, id));
      this.logger.log(`job ${id} of tenant ${tenantId} deleted with its files`);
    }
    return outcome;
  }

  /** One pass: expired jobs (unless retention is 0), then orphaned job directories. */
  sweep(now = new Date()): Promise<SweepResult> {
    this.running ??= this.sweepOnce(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sweepOnce(now: Date): Promise<SweepResult> {
    const jobs: ExpiredJob[] = [];
    const days = this.config.MMS_BATCH_RETENTION_DAYS;
    if (days > 0) {
      const before = new Date(now.getTime() - days * DAY_MS);
      while (jobs.length < MAX_JOBS_PER_SWEEP && !this.stopped) {
        const chunk = await this.repository.deleteExpiredJobs(before, JOBS_PER_CHUNK);
        for (const job of chunk) await this.removeDir(this.paths.jobDir(job.tenantId, job.id));
        jobs.push(...chunk);
        if (chunk.length < JOBS_PER_CHUNK) break;
      }
      if (jobs.length) this.logger.log(`removed ${jobs.length} batch job(s) finished more than ${days} day(s) ago: ${summarize(jobs.map((j) => `${j.tenantId}/${j.id} (${j.status})`))}`);
    }
    const orphans = await this.removeOrphans(now);
    if (orphans.length) this.logger.log(`removed ${orphans.length} batch job director(ies) without a job: ${summarize(orphans)}`);
    return { jobs, orphans };
  }

  /** `batch/<tenant>/<job>/` directories whose job row is gone and that nothing touched for an hour. */
  private async removeOrphans(now: Date): Promise<string[]> {
    const removed: string[] = [];
    const root = path.join(this.paths.dataDir, 'batch');
    for (const tenantId of await uuidDirs(root)) {
      const jobIds = await uuidDirs(path.join(root, tenantId));
      const existing = await this.repository.existingJobIds(tenantId, jobIds);
      for (const jobId of jobIds.filter((id) => !existing.has(id))) {
        const dir = this.paths.jobDir(tenantId, jobId);
        const stat = await fsp.stat(dir).catch(() => null);
        if (!stat || now.getTime() - stat.mtimeMs < ORPHAN_AGE_MS) continue;
        if (await this.removeDir(dir)) removed.push(this.paths.relative(dir));
      }
    }
    return removed;
  }

  /**
   * A failure is logged, not thrown: the rows are gone already, and the orphan pass retries.
   * A job deleted right after its cancel can still have a partition finishing in a scoring
   * thread, whose file lands in the directory while it is being walked (ENOTEMPTY): the removal
   * is tried again a few times (after 100, 200, 300, 400 ms) so that the DELETE leaves nothing
   * behind, and never waits more than about a second. (fs.rm's own maxRetries would apply at
   * every directory level, multiplying the wait.)
   */
  private async removeDir(dir: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fsp.rm(dir, { recursive: true, force: true });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' && attempt < REMOVE_ATTEMPTS) {
          await sleep(REMOVE_RETRY_MS * attempt);
          continue;
        }
        this.logger.warn(`could not remove ${this.paths.relative(dir)}: ${(error as Error).message}`);
        return false;
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((error: Error) => this.logger.warn(`batch retention sweep failed: ${error.message}`))
        .finally(() => this.schedule(SWEEP_EVERY_MS));
    }, delayMs);
    this.timer.unref();
  }
}

async function uuidDirs(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && isUuid(e.name)).map((e) => e.name);
}

function summarize(items: string[], shown = 20): string {
  return items.length > shown ? `${items.slice(0, shown).join(', ')} and ${items.length - shown} more` : items.join(', ');
}
