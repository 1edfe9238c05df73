import type { ThreadPriorityData } from '../../common/thread-priority';
import type { HostTensor } from '../tensor-codec';

/**
 * Messages between the HTTP thread and an inference worker. Run jobs and replies are written
 * flat (WireWriter); big tensors' buffers are transferred (moved, not copied) both ways.
 */

/** What an inference worker is started with. */
export type InferenceWorkerData = ThreadPriorityData;

export interface LoadMessage {
  type: 'load';
  id: number;
  key: string;
  path: string;
  /** The artifact's content address: the file is checked against it before it is loaded. */
  sha256?: string;
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

/** Run jobs, written flat by a WireWriter. */
export interface RunMessage {
  type: 'run';
  wire: unknown[];
}

export type WorkerRequest = LoadMessage | UnloadMessage | RunMessage;

export type PartResult = { outputs: HostTensor[] } | { error: string };

/** A worker's answer to a load or a run job. */
export interface WorkerReply {
  id: number;
  /** Load or whole-job failure. */
  error?: string;
  /** Run: one result per part, in order. */
  parts?: PartResult[];
  /** Run: the outputs' first dimension did not follow the rows, so the parts ran one by one. */
  unbatchable?: boolean;
  /** Load: memory the session holds beyond the estimate from its file's size (WorkerSession.paddingBytes). */
  extraBytes?: number;
}

/** Replies, written flat by a WireWriter. */
export interface RepliesMessage {
  type: 'replies';
  wire: unknown[];
}

/** Sent once, when the worker has loaded onnxruntime and listens for requests. */
export interface ReadyMessage {
  type: 'ready';
}

export type FromWorker = RepliesMessage | ReadyMessage;

// ---------------------------------------------------------------------------------------------
// The wire: jobs and replies as one flat array
// ---------------------------------------------------------------------------------------------

/**
 * Up to this many values a tensor travels as plain numbers in the flat array. Structured-cloning
 * a typed array costs a fresh off-heap buffer on each side (and V8 moves a small on-heap typed
 * array off the heap to hand its buffer over): about a microsecond a tensor on each thread, more
 * than the values themselves for a one-row request.
 */
const PLAIN_MAX_VALUES = 64;

const TYPED_ARRAYS = { Float32Array, Float64Array, Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array };
type TypedArrayName = keyof typeof TYPED_ARRAYS;
/** Marks a tensor whose data follows as one element: a big typed array (its buffer moved) or a string array. */
const AS_IS = '';
const FAILED = -1;

/**
 * Writes run jobs or replies into one flat array of numbers and strings. The structured clone
 * that posts a message costs about a microsecond per object on each side, and a one-row
 * request's job as objects is seven of them (job, parts, part, tensor, dims, data, values):
 * flat, a whole turn's jobs are one array, which clones for less than half as much.
 * Big typed arrays sit in the array as they are, their buffers in `transfer`.
 */
export class WireWriter {
  readonly values: unknown[] = [];
  /** Buffers to move, not copy: a set, since the parts of a merged call are views of one buffer. */
  readonly transfer = new Set<ArrayBuffer>();

  job(job: RunJob): void {
    this.values.push(job.id, job.key, job.batchable, job.parts.length);
    for (const part of job.parts) this.tensors(part);
  }

  reply(reply: WorkerReply): void {
    this.values.push(reply.id, reply.error ?? null, reply.unbatchable === true, reply.extraBytes ?? 0);
    const parts = reply.parts ?? [];
    this.values.push(parts.length);
    for (const part of parts) {
      if ('error' in part) this.values.push(FAILED, part.error);
      else this.tensors(part.outputs);
    }
  }

  private tensors(tensors: HostTensor[]): void {
    this.values.push(tensors.length);
    for (const t of tensors) this.tensor(t);
  }

  private tensor(t: HostTensor): void {
    const v = this.values;
    v.push(t.name, t.type, t.dims.length, ...t.dims);
    const data = t.data;
    const typed = data.constructor.name as TypedArrayName;
    if (!Array.isArray(data) && data.length <= PLAIN_MAX_VALUES && TYPED_ARRAYS[typed] === data.constructor) {
      v.push(typed, data.length);
      for (let i = 0; i < data.length; i++) v.push(data[i]);
      return;
    }
    if (!Array.isArray(data)) this.transfer.add(data.buffer as ArrayBuffer);
    v.push(AS_IS, data);
  }
}

/** Reads back what a WireWriter wrote, in order. */
export class WireReader {
  private at = 0;

  constructor(private readonly values: unknown[]) {}

  get done(): boolean {
    return this.at >= this.values.length;
  }

  job(): RunJob {
    const id = this.next<number>();
    const key = this.next<string>();
    const batchable = this.next<boolean>();
    const parts: HostTensor[][] = new Array(this.next<number>());
    for (let p = 0; p < parts.length; p++) parts[p] = this.tensors(this.next<number>());
    return { id, key, parts, batchable };
  }

  reply(): WorkerReply {
    const id = this.next<number>();
    const error = this.next<string | null>();
    const unbatchable = this.next<boolean>();
    const extraBytes = this.next<number>();
    const parts: PartResult[] = new Array(this.next<number>());
    for (let p = 0; p < parts.length; p++) {
      const count = this.next<number>();
      parts[p] = count === FAILED ? { error: this.next<string>() } : { outputs: this.tensors(count) };
    }
    const reply: WorkerReply = { id, parts };
    if (error !== null) reply.error = error;
    if (unbatchable) reply.unbatchable = true;
    if (extraBytes > 0) reply.extraBytes = extraBytes;
    return reply;
  }

  private tensors(count: number): HostTensor[] {
    const tensors: HostTensor[] = new Array(count);
    for (let i = 0; i < count; i++) tensors[i] = this.tensor();
    return tensors;
  }

  private tensor(): HostTensor {
    const name = this.next<string>();
    const type = this.next<string>();
    const dims: number[] = new Array(this.next<number>());
    for (let d = 0; d < dims.length; d++) dims[d] = this.next<number>();
    const kind = this.next<TypedArrayName | typeof AS_IS>();
    if (kind === AS_IS) return { name, type, dims, data: this.next<HostTensor['data']>() };
    const data = new TYPED_ARRAYS[kind](this.next<number>());
    for (let i = 0; i < data.length; i++) data[i] = this.next<never>();
    return { name, type, dims, data };
  }

  private next<T>(): T {
    return this.values[this.at++] as T;
  }
}
