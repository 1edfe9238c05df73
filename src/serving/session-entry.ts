import type { SessionHandle } from './runtime/inference-runtime';
import type { MicroBatch } from './micro-batcher';

/** Lifecycle of a cache entry. */
export enum SessionState {
  /** The worker is creating the session; concurrent requests wait for this one load. */
  Loading = 'loading',
  Ready = 'ready',
  /** The last load failed; requests answer 503 until `retryAt`, then one of them tries again. */
  Failed = 'failed',
  /** Evicted or unloaded while requests still run on it: released when the last one ends. */
  Unloading = 'unloading',
}

export interface SessionStats {
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  evictions: number;
  /** Requests run, and calls made for them (fewer calls than requests = micro-batching at work). */
  requests: number;
  calls: number;
}

/** Why a session was taken out other than by eviction. */
export type Withdrawal = 'unloaded' | 'deleted';

/** A loaded session of one model version, as the session cache keeps it. */
export interface SessionEntry {
  readonly key: string;
  readonly tenantId: string;
  readonly model: string;
  readonly version: number;
  readonly sizeBytes: number;
  readonly handle: SessionHandle;
  readonly stats: SessionStats;
  readonly loadedAt: number;
  readonly loadMs: number;
  state: SessionState;
  pinned: boolean;
  /** Requests holding the session (a lease each). */
  refs: number;
  /** Cleared when a merged call shows the model is not row-independent. */
  batchable: boolean;
  lastUsedAt: number;
  /** Its worker died: nothing left to release. */
  lost?: boolean;
  /** Taken out by an unload or a deletion (not evicted for room): never taken back, never pinned. */
  withdrawn?: Withdrawal;
  /** The micro-batch collecting calls for this session now, if any (MicroBatcher's). */
  batch?: MicroBatch;
  /** The same for background calls (mirrored shadow runs), which merge only with each other. */
  backgroundBatch?: MicroBatch;
}

/** A request's hold on a session: the session is not released before `release()`. */
export class SessionLease {
  private released = false;

  constructor(
    readonly entry: SessionEntry,
    private readonly onRelease: (entry: SessionEntry) => void,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this.entry);
  }
}
