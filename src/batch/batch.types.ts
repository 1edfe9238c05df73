import type { ModelSignature } from '../registry/artifact/artifact.types';
import type { BatchJobSpec } from './batch-job-spec';
import type { OutputColumn } from './io/output-format';

/** Lifecycle of a job as clients see it. */
export enum JobStatus {
  Queued = 'queued',
  Running = 'running',
  Succeeded = 'succeeded',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

/** Where a running job is. */
export enum JobPhase {
  Queued = 'queued',
  /** Reading the input, routing rows into partition files, pinning versions. */
  Planning = 'planning',
  /** Partitions are being scored. */
  Scoring = 'scoring',
  /** Writing the final output and manifest, then moving them into place. */
  Committing = 'committing',
  Done = 'done',
}

/** Lifecycle of a partition in the ledger. */
export enum PartitionStatus {
  Pending = 'pending',
  Running = 'running',
  Succeeded = 'succeeded',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

/** A version pinned when the job was planned: enough to run it in any worker process. */
export interface PinnedVersion {
  versionId: string;
  model: string;
  version: number;
  modelSha256: string;
  signature: ModelSignature;
  mlflow: Record<string, unknown> | null;
}

export interface JobRow {
  id: string;
  tenantId: string;
  status: JobStatus;
  phase: JobPhase;
  spec: BatchJobSpec;
  principal: string;
  modelScope: string[] | null;
  scheduleId: string | null;
  pinned: Record<string, PinnedVersion>;
  columns: OutputColumn[] | null;
  rowsTotal: number | null;
  partitionsTotal: number | null;
  leaseOwner: string | null;
  planAttempts: number;
  commitSeq: number;
  outputPath: string | null;
  outputRows: number | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  scoringStartedAt: Date | null;
  finishedAt: Date | null;
  committedAt: Date | null;
}

export interface RowError {
  row: number;
  message: string;
}

export interface PartitionRow {
  id: string;
  tenantId: string;
  jobId: string;
  seq: number;
  routeKey: string;
  chunk: number;
  model: string | null;
  version: number | null;
  status: PartitionStatus;
  attempt: number;
  failures: number;
  rowsIn: number;
  rowsOut: number | null;
  rowsFailed: number;
  bytesOut: number | null;
  checksum: string | null;
  rowErrors: RowError[] | null;
  valueKinds: number[] | null;
  columnsWritten: number | null;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * What scoring a job's partitions needs: fixed at submission but for the pins and columns, which
 * only grow (a retry pins a model that was missing; a model's pin never changes).
 */
export type JobForScoring = Pick<JobRow, 'id' | 'tenantId' | 'spec' | 'principal' | 'modelScope' | 'pinned' | 'columns'>;

/** A partition as planned, before it is in the ledger. */
export interface PlannedPartition {
  seq: number;
  routeKey: string;
  chunk: number;
  rows: number;
  model: string | null;
  version: number | null;
  /** Set when its route resolved to no model: recorded as failed at once. */
  error: string | null;
  /** For such a partition whose route names nothing (no model name, not a JSON object): its first rows, so they can be found. */
  rowErrors?: RowError[];
}

export interface JobProgress {
  partitions: { total: number; pending: number; running: number; succeeded: number; failed: number; cancelled: number };
  /** doneSince: rows finished since scoring (re)started, what the rate is made of. */
  rows: { total: number; done: number; succeeded: number; failed: number; doneSince: number };
}
