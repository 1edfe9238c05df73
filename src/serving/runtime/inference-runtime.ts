import type { HostTensor } from '../tensor-codec';
import type { PartResult } from './worker-protocol';

/** Where a loaded session lives. */
export interface SessionHandle {
  readonly key: string;
  readonly worker: number;
  /** The worker's incarnation: a handle does not survive its worker's restart. */
  readonly incarnation: number;
  /**
   * Memory the session holds beyond the estimate from its file's size, found as its graph was read
   * (the padding of its packed matrix-multiply weights, packed-weights.ts); 0 or absent when none.
   */
  readonly extraBytes?: number;
}

export interface RunOutcome {
  parts: PartResult[];
  /** The merged call showed the model is not row-independent: stop micro-batching it. */
  unbatchable: boolean;
}

/**
 * `background`: work nobody waits for (a mirrored call's shadow run). It goes to its worker only
 * when the worker has nothing else to run, one call at a time, so a request waits for at most
 * the one background call already under way there (a run cannot be interrupted), never for a
 * queue of them; one that finds no idle moment within BACKGROUND_MAX_WAIT_MS is dropped
 * (BackgroundCallDropped).
 */
export type CallPriority = 'normal' | 'background';

/** How long a background call may wait for its worker to be idle before it is dropped. */
export const BACKGROUND_MAX_WAIT_MS = 2_000;

/** A background call dropped unrun: its worker had no idle moment in time (or restarted). */
export class BackgroundCallDropped extends Error {}

export interface WorkerView {
  worker: number;
  models: number;
  bytes: number;
  /** Calls sent and not yet answered. */
  pending: number;
  restarts: number;
}

/**
 * The inference runtime port: loads sessions somewhere off the HTTP thread, runs them,
 * releases them. The worker-thread pool is the implementation; unit tests use a fake.
 */
export abstract class InferenceRuntime {
  /** Loads the ONNX file at `artifactPath`; with `sha256`, refuses a file whose bytes do not have that digest. */
  abstract load(key: string, artifactPath: string, sizeBytes: number, sha256?: string): Promise<SessionHandle>;
  /** One call over `parts` (each a request's inputs); concatenated when `batchable`. */
  abstract run(handle: SessionHandle, parts: HostTensor[][], batchable: boolean, priority?: CallPriority): Promise<RunOutcome>;
  abstract unload(handle: SessionHandle): void;
  /** Called with the keys of sessions that vanished with a crashed worker. */
  abstract onSessionsLost(listener: (keys: string[]) => void): void;
  abstract workers(): WorkerView[];
  abstract close(): Promise<void>;
}
