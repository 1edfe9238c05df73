import { Counter, Histogram, Metric } from 'prom-client';

/**
 * Metrics that other modules feed from inside their own code (one call at the spot where the
 * thing happens). They are plain module-level objects, not Nest providers, so any code can
 * call them without an injection; ServiceMetrics registers them in the registry /metrics
 * serves. Calling them costs a few hundred nanoseconds and never throws.
 */

const MICRO_BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const BATCH_PARTITION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

const microBatchRequests = new Histogram({
  name: 'mms_microbatch_requests',
  help: 'Requests merged into one runtime call (1 = not batched)',
  buckets: MICRO_BATCH_BUCKETS,
  registers: [],
});
const microBatchRows = new Histogram({
  name: 'mms_microbatch_rows',
  help: 'Rows in one runtime call',
  buckets: MICRO_BATCH_BUCKETS,
  registers: [],
});

const modelLoadSeconds = new Histogram({
  name: 'mms_model_load_seconds',
  help: 'Time to load a model version into a session',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [],
});

const modelLoadWaitSeconds = new Histogram({
  name: 'mms_model_load_wait_seconds',
  help: 'Time a load waited for room in the session cache (loads under way held it) before it started',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [],
});

const offloadedBodies = new Counter({
  name: 'mms_offloaded_bodies_total',
  help: 'Big prediction bodies parsed in the JSON codec thread instead of the HTTP thread, by route (predict | fanout | oip | mlflow)',
  labelNames: ['route'],
  registers: [],
});

const offloadedAnswers = new Counter({
  name: 'mms_offloaded_answers_total',
  help: 'Big prediction answers (more than 16,384 values) encoded in the JSON codec thread instead of the HTTP thread, by route (predict | fanout | oip | mlflow)',
  labelNames: ['route'],
  registers: [],
});

/**
 * Load times: reported by serving through `servingHookMetrics.modelLoaded` once that hook is
 * in place; until then ServiceMetrics infers them at scrape time from the sessions it finds.
 */
export const modelLoadHook = { used: false, histogram: modelLoadSeconds };

export const servingHookMetrics = {
  /** Serving: one runtime call made for `requests` merged requests of `rows` rows in all. */
  microBatch(requests: number, rows?: number): void {
    microBatchRequests.observe(requests);
    if (rows !== undefined && Number.isFinite(rows)) microBatchRows.observe(rows);
  },
  /** Serving: a session finished loading after `seconds` (from when it had its room in the cache). */
  modelLoaded(seconds: number): void {
    modelLoadHook.used = true;
    if (Number.isFinite(seconds) && seconds >= 0) modelLoadSeconds.observe(seconds);
  },
  /** Serving: a load's wait for room ended after `seconds`, whether it then started or failed. */
  loadWaited(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) modelLoadWaitSeconds.observe(seconds);
  },
  /** Serving: a big body of `route` went to the JSON codec thread. */
  bodyOffloaded(route: string): void {
    offloadedBodies.inc({ route });
  },
  /** Serving: a big answer of `route` was encoded in the JSON codec thread. */
  answerOffloaded(route: string): void {
    offloadedAnswers.inc({ route });
  },
};

const batchRows = new Counter({
  name: 'mms_batch_rows_total',
  help: 'Batch rows scored, by tenant and outcome (succeeded | failed)',
  labelNames: ['tenant', 'outcome'],
  registers: [],
});
const batchPartitions = new Counter({
  name: 'mms_batch_partitions_total',
  help: 'Batch partition attempts finished, by tenant and outcome (succeeded | retried | failed)',
  labelNames: ['tenant', 'outcome'],
  registers: [],
});
const batchPartitionSeconds = new Histogram({
  name: 'mms_batch_partition_duration_seconds',
  help: 'Time to score one batch partition attempt, by outcome',
  labelNames: ['outcome'],
  buckets: BATCH_PARTITION_BUCKETS,
  registers: [],
});
const batchJobs = new Counter({
  name: 'mms_batch_jobs_total',
  help: 'Batch jobs that reached a final status, by tenant and status (succeeded | failed | cancelled)',
  labelNames: ['tenant', 'status'],
  registers: [],
});

export type BatchPartitionOutcome = 'succeeded' | 'retried' | 'failed';
export type BatchJobStatus = 'succeeded' | 'failed' | 'cancelled';

/** The batch engine's metrics: call these where a partition attempt or a job ends. */
export const batchMetrics = {
  /** A partition attempt ended; `rows` only when it succeeded (rows written and rows that failed). */
  partitionFinished(tenantId: string, outcome: BatchPartitionOutcome, seconds: number, rows?: { succeeded: number; failed: number }): void {
    batchPartitions.inc({ tenant: tenantId, outcome });
    if (Number.isFinite(seconds) && seconds >= 0) batchPartitionSeconds.observe({ outcome }, seconds);
    if (rows) {
      if (rows.succeeded > 0) batchRows.inc({ tenant: tenantId, outcome: 'succeeded' }, rows.succeeded);
      if (rows.failed > 0) batchRows.inc({ tenant: tenantId, outcome: 'failed' }, rows.failed);
    }
  },
  /** A job reached a final status. */
  jobFinished(tenantId: string, status: BatchJobStatus): void {
    batchJobs.inc({ tenant: tenantId, status });
  },
};

/** Everything above, for ServiceMetrics to register. */
export const HOOK_METRICS: Metric[] = [microBatchRequests, microBatchRows, modelLoadSeconds, modelLoadWaitSeconds, offloadedBodies, offloadedAnswers, batchRows, batchPartitions, batchPartitionSeconds, batchJobs];
