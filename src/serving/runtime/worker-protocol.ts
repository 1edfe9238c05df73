import type { HostTensor } from '../tensor-codec';

/**
 * Messages between the HTTP thread and an inference worker. Tensors travel as typed arrays
 * whose ArrayBuffers are transferred (moved, not copied) in both directions.
 */

export interface LoadMessage {
  type: 'load';
  id: number;
  key: string;
  path: string;
}

export interface UnloadMessage {
  type: 'unload';
  key: string;
}

/** One call on one session: several requests' inputs (`parts`) when micro-batched. */
export interface RunJob {
  id: number;
  key: string;
  parts: HostTensor[][];
  /** Rows are independent: parts may be concatenated and big inputs cut into chunks. */
  batchable: boolean;
}

export interface RunMessage {
  type: 'run';
  jobs: RunJob[];
}

export type WorkerRequest = LoadMessage | UnloadMessage | RunMessage;

export type PartResult = { outputs: HostTensor[] } | { error: string };

export interface WorkerReply {
  id: number;
  /** Load or whole-job failure. */
  error?: string;
  /** Run: one result per part, in order. */
  parts?: PartResult[];
  /** Run: the outputs' first dimension did not follow the rows, so the parts ran one by one. */
  unbatchable?: boolean;
}

export interface RepliesMessage {
  type: 'replies';
  replies: WorkerReply[];
}
