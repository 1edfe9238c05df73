import type { HostTensor, TensorData } from '../tensor-codec';

/**
 * Messages between the HTTP thread and an inference worker. Tensors travel as typed arrays
 * whose ArrayBuffers are transferred (moved, not copied) in both directions, except small ones
 * (see toWire), which travel as plain arrays.
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

/** One call on one session: several requests' inputs (`parts`) when micro-batched; posted with WireTensors. */
export interface RunJob<T = WireTensor> {
  id: number;
  key: string;
  parts: T[][];
  /** Rows are independent: parts may be concatenated and big inputs cut into chunks. */
  batchable: boolean;
}

export interface RunMessage {
  type: 'run';
  jobs: RunJob[];
}

export type WorkerRequest = LoadMessage | UnloadMessage | RunMessage;

export type PartResult = { outputs: HostTensor[] } | { error: string };
export type WirePartResult = { outputs: WireTensor[] } | { error: string };

/** A worker's answer to a load or a run job; posted with WirePartResults. */
export interface WorkerReply<R = WirePartResult> {
  id: number;
  /** Load or whole-job failure. */
  error?: string;
  /** Run: one result per part, in order. */
  parts?: R[];
  /** Run: the outputs' first dimension did not follow the rows, so the parts ran one by one. */
  unbatchable?: boolean;
}

export interface RepliesMessage {
  type: 'replies';
  replies: WorkerReply[];
}

// ---------------------------------------------------------------------------------------------
// Tensors on the wire
// ---------------------------------------------------------------------------------------------

/**
 * Up to this many values a tensor travels as a plain array. Structured-cloning a typed array
 * costs a fresh off-heap buffer on each side (and V8 moves a small on-heap typed array off the
 * heap to hand its buffer over): about a microsecond a tensor on each thread, more than the
 * values themselves for a one-row request. Plain arrays of numbers clone for a fraction of it.
 */
const PLAIN_MAX_VALUES = 64;

const TYPED_ARRAYS = { Float32Array, Float64Array, Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array };
type TypedArrayName = keyof typeof TYPED_ARRAYS;

/** A small typed array as plain values, with the class to rebuild it as. */
export interface PlainData {
  typed: TypedArrayName;
  values: Array<number | bigint>;
}

export type WireTensor = Omit<HostTensor, 'data'> & { data: TensorData | PlainData };

/** The tensor as it is posted; `move` is given each buffer to transfer rather than copy. */
export function toWire(t: HostTensor, move: (buffer: ArrayBuffer) => void): WireTensor {
  const data = t.data;
  if (Array.isArray(data)) return t;
  const typed = data.constructor.name as TypedArrayName;
  if (data.length <= PLAIN_MAX_VALUES && TYPED_ARRAYS[typed] === data.constructor) {
    return { name: t.name, type: t.type, dims: t.dims, data: { typed, values: Array.from(data as ArrayLike<number | bigint>) } };
  }
  move(data.buffer as ArrayBuffer);
  return t;
}

/** The tensor as posted, with its typed array back. */
export function fromWire(t: WireTensor): HostTensor {
  const data = t.data;
  if (Array.isArray(data) || ArrayBuffer.isView(data)) return t as HostTensor;
  const Typed = TYPED_ARRAYS[data.typed] as unknown as { from(values: ArrayLike<number | bigint>): HostTensor['data'] };
  return { name: t.name, type: t.type, dims: t.dims, data: Typed.from(data.values) };
}

export function partsToWire(parts: HostTensor[][], move: (buffer: ArrayBuffer) => void): WireTensor[][] {
  return parts.map((part) => part.map((t) => toWire(t, move)));
}

export function partsFromWire(parts: WireTensor[][]): HostTensor[][] {
  return parts.map((part) => part.map(fromWire));
}

export function resultToWire(result: PartResult, move: (buffer: ArrayBuffer) => void): WirePartResult {
  return 'outputs' in result ? { outputs: result.outputs.map((t) => toWire(t, move)) } : result;
}

export function resultFromWire(result: WirePartResult): PartResult {
  return 'outputs' in result ? { outputs: result.outputs.map(fromWire) } : result;
}
