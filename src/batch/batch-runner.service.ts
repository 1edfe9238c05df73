import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { BatchCommitter } from './batch-committer.service';
import { BatchPlanner } from './batch-planner.service';
import { BatchRepository } from './batch.repository';
import { JobForScoring, JobPhase, JobStatus, PartitionRow } from './batch.types';
import { BatchScheduler } from './batch-scheduler.service';
import { JobCoordinator } from './job-coordinator.service';
import { PartitionResult, PartitionScorer } from './partition-scorer.service';
import { BatchQueue, FetchedJob, QUEUES, QueueName } from './queue/batch-queue';
import { PermanentError, StoppedError, WorkLease } from './work-lease';

/**
 * Partition messages a slot takes at once (claimed and recorded together). A round costs about
 * ten statements whatever its size (fetch, claim, record, dispatch, queue), some milliseconds
 * each on the embedded database: 16 halves what 8 cost per partition. Two slots of 16 fill the
 * default maxConcurrency (32).
 */
const PARTITIONS_PER_FETCH = 16;

/**
 * Works the batch queue in this process (the server by default, `npm run worker` processes
 * too): MMS_BATCH_CONCURRENCY partition slots, one planner slot and one committer slot, each
 * a loop that fetches a message from pg-boss, claims the work in the ledger under a lease,
 * does it and records it. A heartbeat renews the leases this process holds and stops work
 * whose job was cancelled; a reaper hands over work whose worker stopped renewing (killed),
 * which is how a job resumes after SIGKILL.
 */
@Injectable()
export class BatchRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('BatchWorker');
  /** This process's identity in leases. */
  readonly owner = randomUUID();
  private readonly held = new Map<string, WorkLease>();
  /** Per job: its spec, pins and columns, read once per process (a job's pins can be large). */
  private readonly scoringJobs = new LRUCache<string, JobForScoring>({ max: 8 });
  private readonly loops: Array<Promise<void>> = [];
  private readonly wake = new AbortController();
  private stopping = false;
  private heartbeat?: NodeJS.Timeout;
  private reaper?: NodeJS.Timeout;
  /** The embedded database belongs to one process: any lease not ours is from a dead predecessor. */
  private reclaimForeignLeases: boolean;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: BatchRepository,
    private readonly queue: BatchQueue,
    private readonly planner: BatchPlanner,
    private readonly scorer: PartitionScorer,
    private readonly committer: BatchCommitter,
    private readonly coordinator: JobCoordinator,
    private readonly scheduler: BatchScheduler,
  ) {
    this.reclaimForeignLeases = config.usesEmbeddedDatabase;
  }

  get working(): boolean {
    return this.config.MMS_BATCH_CONCURRENCY > 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.start();
    if (!this.working) return;
    const lease = this.config.MMS_BATCH_LEASE_SECONDS;
    await this.reap();
    this.heartbeat = setInterval(() => void this.renew(), Math.max(500, (lease * 1000) / 3));
    this.reaper = setInterval(() => void this.reap(), Math.max(1000, (lease * 1000) / 2));
    this.heartbeat.unref();
    this.reaper.unref();
    this.loops.push(this.loop(QUEUES.plan, 1, ([job]) => this.planJob(job)));
    this.loops.push(this.loop(QUEUES.commit, 1, ([job]) => this.commitJob(job)));
    for (let i = 0; i < this.config.MMS_BATCH_CONCURRENCY; i++) this.loops.push(this.loop(QUEUES.partition, PARTITIONS_PER_FETCH, (jobs) => this.scorePartitions(jobs)));
    this.scheduler.start();
    this.logger.log(`working the batch queue: ${this.config.MMS_BATCH_CONCURRENCY} partition slot(s), worker ${this.owner.slice(0, 8)}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    clearInterval(this.heartbeat);
    clearInterval(this.reaper);
    this.scheduler.stop();
    for (const lease of this.held.values()) lease.stop('shutting down');
    await Promise.race([Promise.allSettled(this.loops), sleep(10_000)]);
    await this.queue.stop();
  }

  private async loop(name: QueueName, batchSize: number, handle: (jobs: FetchedJob[]) => Promise<void>): Promise<void> {
    while (!this.stopping) {
      let jobs: FetchedJob[] = [];
      try {
        jobs = await this.queue.fetch(name, batchSize);
      } catch (error) {
        if (!this.stopping) this.logger.warn(`fetching from ${name} failed: ${(error as Error).message}`);
      }
      if (!jobs.length) {
        await this.queue.waitForWork(name, this.config.MMS_BATCH_POLL_MS, this.wake.signal);
        continue;
      }
      const ids = jobs.map((j) => j.id);
      try {
        await handle(jobs);
        await this.queue.complete(name, ids).catch(() => undefined);
      } catch (error) {
        if (!this.stopping) this.logger.error(`${name} ${JSON.stringify(jobs.map((j) => j.data))}: ${(error as Error).stack ?? error}`);
        await this.queue.fail(name, ids, error as Error).catch(() => undefined);
      }
    }
  }

  private async planJob({ data }: FetchedJob): Promise<void> {
    const lease = this.config.MMS_BATCH_LEASE_SECONDS;
    const job = await this.repository.claimPlanning(data.tenantId, data.jobId, this.owner, lease, this.config.MMS_TENANT_MAX_RUNNING_BATCH_JOBS);
    if (!job) return this.resumeWaitingRetry(data.tenantId, data.jobId);
    const work = this.hold(new WorkLease('job', job.tenantId, job.id, 0));
    try {
      await this.planner.plan(job, this.owner, work);
    } catch (error) {
      if (error instanceof StoppedError) return;
      // Unreadable input (bad CSV, not parquet): a planning error is the job's, not the worker's.
      await this.repository.failJob(this.repository.dataSource, job.tenantId, job.id, `planning failed: ${(error as Error).message}`);
      this.logger.warn(`job ${job.id} failed while planning: ${(error as Error).message}`);
    } finally {
      this.release(work);
      await this.startWaitingJobs(0).catch(() => undefined); // a plan that failed (or found nothing to do) ended its job
    }
  }

  /**
   * Scores the partitions of up to PARTITIONS_PER_FETCH messages: claimed in one statement,
   * scored side by side, recorded in one transaction. Batching the ledger work this way
   * keeps the database round trips per partition low when segments are small.
   */
  private async scorePartitions(messages: FetchedJob[]): Promise<void> {
    const leaseSeconds = this.config.MMS_BATCH_LEASE_SECONDS;
    const t0 = performance.now();
    const wanted = messages.filter((m) => m.data.partitionId).map((m) => ({ tenantId: m.data.tenantId, id: m.data.partitionId! }));
    const claimed = await this.repository.claimPartitions(wanted, this.owner, leaseSeconds);
    if (!claimed.length) return;
    const works = claimed.map((p) => this.hold(new WorkLease('partition', p.tenantId, p.id, p.attempt)));
    const t1 = performance.now();
    try {
      const jobs = new Map<string, JobForScoring | null>();
      for (const p of claimed) {
        if (!jobs.has(p.jobId)) jobs.set(p.jobId, await this.jobForScoring(p.tenantId, p.jobId, claimed.filter((c) => c.jobId === p.jobId)));
      }
      type Outcome = { partition: PartitionRow; job: JobForScoring; result?: PartitionResult; error?: Error };
      // Side by side: their per-row work runs on the scoring threads, their inference on serving's workers.
      const scored = await Promise.all(
        claimed.map(async (partition, i): Promise<Outcome | null> => {
          const job = jobs.get(partition.jobId);
          if (!job) return null;
          try {
            return { partition, job, result: await this.scorer.score(job, partition, this.owner, works[i]) };
          } catch (error) {
            if (error instanceof StoppedError) return null; // cancelled, or taken over: the ledger already says so
            return { partition, job, error: error as Error };
          }
        }),
      );
      const outcomes = scored.filter((o): o is Outcome => o !== null);
      const rows = outcomes.reduce((sum, o) => sum + (o.result?.rowsOut ?? 0), 0);
      const t2 = performance.now();
      const retries: string[] = [];
      await this.repository.transaction(async (tx) => {
        const touched = new Map<string, string>();
        const done = outcomes.filter((o) => o.result);
        const completed = await this.repository.completePartitions(
          tx,
          done.map((o) => ({ tenantId: o.job.tenantId, id: o.partition.id, attempt: o.partition.attempt, ...o.result! })),
        );
        for (const o of done) if (completed.has(o.partition.id)) touched.set(o.job.id, o.job.tenantId);
        for (const o of outcomes.filter((x) => x.error)) {
          const { partition, job, error } = o;
          const retriesLeft = !(error instanceof PermanentError) && partition.failures < job.spec.maxRetries;
          const backoff = Math.min(60, 2 ** partition.failures);
          const outcome = await this.repository.failPartitionAttempt(tx, job.tenantId, partition.id, partition.attempt, error!.message, retriesLeft, backoff);
          if (outcome) touched.set(job.id, job.tenantId);
          retries.push(`job ${job.id} partition ${partition.seq} attempt ${partition.attempt} failed${outcome === 'retry' ? `, retried in ${backoff} s` : ''}: ${error!.message}`);
        }
        for (const [jobId, tenantId] of touched) await this.coordinator.advance(tx, tenantId, jobId);
      });
      for (const line of retries) this.logger.warn(line);
      const ms = (a: number, b: number) => (b - a).toFixed(1);
      this.logger.debug(`${claimed.length} partition(s), ${rows} rows: claim ${ms(t0, t1)} ms, score ${ms(t1, t2)} ms, record ${ms(t2, performance.now())} ms`);
    } finally {
      for (const work of works) this.release(work);
    }
  }

  /**
   * The job as scoring needs it, from memory unless one of these partitions' models is not
   * pinned there yet (pins are only ever added, by a retry, together with their columns).
   */
  private async jobForScoring(tenantId: string, jobId: string, partitions: readonly PartitionRow[]): Promise<JobForScoring | null> {
    const known = this.scoringJobs.get(jobId);
    if (known && partitions.every((p) => !p.model || known.pinned[p.model])) return known;
    const fresh = await this.repository.findJobForScoring(tenantId, jobId);
    if (fresh) this.scoringJobs.set(jobId, fresh);
    else this.scoringJobs.delete(jobId);
    return fresh;
  }

  private async commitJob({ data }: FetchedJob): Promise<void> {
    const job = await this.repository.claimCommit(data.tenantId, data.jobId, this.owner, this.config.MMS_BATCH_LEASE_SECONDS);
    if (!job) return;
    const work = this.hold(new WorkLease('job', job.tenantId, job.id, 0));
    try {
      await this.committer.commit(job, this.owner, work);
    } catch (error) {
      if (error instanceof StoppedError) return;
      await this.repository.failJob(this.repository.dataSource, job.tenantId, job.id, `commit failed: ${(error as Error).message}`);
      this.logger.error(`job ${job.id} commit failed: ${(error as Error).message}`);
    } finally {
      this.release(work);
      await this.startWaitingJobs(0).catch(() => undefined);
    }
  }

  private hold(work: WorkLease): WorkLease {
    this.held.set(work.id, work);
    return work;
  }

  private release(work: WorkLease): void {
    if (this.held.get(work.id) === work) this.held.delete(work.id);
  }

  /** Renews every lease this process holds; work whose lease is gone or whose job ended is told to stop. */
  private async renew(): Promise<void> {
    const leaseSeconds = this.config.MMS_BATCH_LEASE_SECONDS;
    try {
      const partitions = [...this.held.values()].filter((w) => w.kind === 'partition');
      const statuses = await this.repository.renewPartitionLeases(this.owner, partitions, leaseSeconds);
      for (const work of partitions) {
        const status = statuses.get(work.id);
        if (status === undefined) work.stop('lease lost');
        else if (status !== JobStatus.Running) work.stop(`job ${status}`);
      }
      for (const work of this.held.values()) {
        if (work.kind !== 'job') continue;
        const status = await this.repository.renewJobLease(work.tenantId, work.id, this.owner, leaseSeconds);
        if (status === null) work.stop('lease lost');
        else if (status !== JobStatus.Running) work.stop(`job ${status}`);
      }
    } catch (error) {
      this.logger.warn(`renewing leases failed: ${(error as Error).message}`);
    }
  }

  /**
   * Jobs that found their tenant at MMS_TENANT_MAX_RUNNING_BATCH_JOBS start once it has a free
   * slot: at once when a job of this process ends, else at the next reap (any process's). Jobs
   * handed out less than `minWaitSeconds` ago are left to the message they already have.
   */
  private async startWaitingJobs(minWaitSeconds: number): Promise<void> {
    for (const waiting of await this.repository.waitingJobsWithRoom(this.config.MMS_TENANT_MAX_RUNNING_BATCH_JOBS, minWaitSeconds)) {
      await this.queue.send(QUEUES.plan, { tenantId: waiting.tenantId, jobId: waiting.id });
    }
  }

  /** A retried job that waited for a free slot in its scoring phase (not planned again): it scores its reopened partitions now, if there is room. */
  private async resumeWaitingRetry(tenantId: string, jobId: string): Promise<void> {
    await this.repository.transaction(async (tx) => {
      if (await this.repository.resumeWaiting(tx, tenantId, jobId, this.config.MMS_TENANT_MAX_RUNNING_BATCH_JOBS)) await this.coordinator.advance(tx, tenantId, jobId);
    });
  }

  /** Takes over work whose worker stopped renewing its lease, and re-sends what it had in hand. */
  private async reap(): Promise<void> {
    try {
      const foreign = this.reclaimForeignLeases ? this.owner : null;
      const reclaimed = await this.repository.reclaimExpiredPartitions(foreign);
      const jobs = new Map(reclaimed.map((r) => [r.jobId, r.tenantId]));
      for (const { tenantId, id } of await this.repository.jobsWithIdleRoom()) jobs.set(id, tenantId);
      for (const [jobId, tenantId] of jobs) {
        await this.repository.transaction(async (tx) => {
          const job = await this.repository.lockJobState(tx, tenantId, jobId);
          if (job && job.status === JobStatus.Running && job.phase === JobPhase.Scoring) await this.coordinator.dispatch(tx, job);
        });
      }
      if (reclaimed.length) this.logger.warn(`took over ${reclaimed.length} partition(s) whose worker stopped (${jobs.size} job(s))`);
      for (const stalled of await this.repository.stalledJobs(foreign)) {
        const queue = stalled.phase === JobPhase.Committing ? QUEUES.commit : QUEUES.plan;
        await this.queue.send(queue, { tenantId: stalled.tenantId, jobId: stalled.id });
        this.logger.warn(`job ${stalled.id}: its ${stalled.phase} worker stopped; handed over`);
      }
      const unclaimed = 2 * this.config.MMS_BATCH_LEASE_SECONDS + 10;
      const redispatch = await this.repository.staleDispatches(unclaimed);
      await this.queue.sendMany(QUEUES.partition, redispatch.map((r) => ({ data: r })));
      for (const queued of await this.repository.staleQueuedJobs(unclaimed)) {
        await this.queue.send(queued.phase === JobPhase.Committing ? QUEUES.commit : QUEUES.plan, { tenantId: queued.tenantId, jobId: queued.id });
      }
      await this.startWaitingJobs(Math.max(1, this.config.MMS_BATCH_LEASE_SECONDS / 2));
      // Only at boot: from now on our own leases are the only ones not expired.
      this.reclaimForeignLeases = false;
    } catch (error) {
      this.logger.warn(`taking over stalled batch work failed: ${(error as Error).message}`);
    }
  }
}
