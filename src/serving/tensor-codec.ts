import type { FeedableInputType, TensorSpec } from '../registry/artifact/artifact.types';
import { nameList, namesDetail, sentName } from './name-list';
import { invalidInput, ServingError } from './serving.error';

/**
 * JSON ⇄ typed-array tensors, checked against a model's stored signature. Runs on the HTTP
 * event loop for every request, so it is a plain loop per element (no decorators, no
 * intermediate arrays): the nested JSON is walked once and written straight into the typed
 * array that is later transferred to the inference worker.
 */

/** Element types we accept, spelled like onnxruntime's `Tensor.type`: every type the registry lets an input have has its codec here. */
export type DType = FeedableInputType;

export type TypedData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** String tensors (a classifier's labels, a categorical input) are plain arrays. */
export type TensorData = TypedData | string[];

/** A tensor as it travels between the HTTP thread and the workers (structured-clone friendly). */
export interface HostTensor {
  name: string;
  /** onnxruntime's element type (a DType for every input we decode). */
  type: string;
  dims: number[];
  data: TensorData;
}

type Writer = (out: TensorData, i: number, v: unknown) => boolean;

interface DTypeInfo {
  make: (n: number) => TensorData;
  /** Writes v at i when it is a valid element, returns false otherwise. */
  write: Writer;
  writeNullAsNaN?: Writer;
  /** Open Inference Protocol name. */
  oip: string;
  /** What a valid element is, for error messages. */
  expected: string;
}

const intWriter = (lo: number, hi: number): Writer => (out, i, v) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return false;
  (out as TypedData)[i] = v;
  return true;
};

// A number beyond the type's range would silently become ±Infinity (JSON's 1e400 already is):
// refused, as the stored value tells (x - x is 0 for every finite x, NaN for ±Infinity).
const writeFloat32: Writer = (out, i, v) => typeof v === 'number' && (((out as Float32Array)[i] = v), (out as Float32Array)[i] - (out as Float32Array)[i] === 0);
const writeFloat64: Writer = (out, i, v) => typeof v === 'number' && v - v === 0 && (((out as Float64Array)[i] = v), true);
/** MLflow data frames' missing values: null is NaN, anything else as `write` takes it. */
const nullAsNaN = (write: Writer): Writer => (out, i, v) => (v === null ? (((out as Float32Array | Float64Array)[i] = NaN), true) : write(out, i, v));

/**
 * 64-bit integers: JSON numbers are doubles, so integers beyond 2^53 arrive rounded (still
 * integers, taken as they are); decimal strings are taken exactly, since that is how answers
 * give such values (toNested), so a client can send back what it was given.
 */
const bigIntWriter = (lo: bigint, hi: bigint): Writer => (out, i, v) => {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return false;
    n = BigInt(v);
  } else if (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v)) n = BigInt(v);
  else return false;
  if (n < lo || n > hi) return false;
  (out as BigInt64Array | BigUint64Array)[i] = n;
  return true;
};

const DTYPES: Record<DType, DTypeInfo> = {
  float32: {
    make: (n) => new Float32Array(n),
    write: writeFloat32,
    writeNullAsNaN: nullAsNaN(writeFloat32),
    oip: 'FP32',
    expected: 'numbers',
  },
  float64: {
    make: (n) => new Float64Array(n),
    write: writeFloat64,
    writeNullAsNaN: nullAsNaN(writeFloat64),
    oip: 'FP64',
    expected: 'numbers',
  },
  int8: { make: (n) => new Int8Array(n), write: intWriter(-128, 127), oip: 'INT8', expected: 'integers from -128 to 127' },
  uint8: { make: (n) => new Uint8Array(n), write: intWriter(0, 255), oip: 'UINT8', expected: 'integers from 0 to 255' },
  int16: { make: (n) => new Int16Array(n), write: intWriter(-32768, 32767), oip: 'INT16', expected: 'integers from -32768 to 32767' },
  uint16: { make: (n) => new Uint16Array(n), write: intWriter(0, 65535), oip: 'UINT16', expected: 'integers from 0 to 65535' },
  int32: { make: (n) => new Int32Array(n), write: intWriter(-2147483648, 2147483647), oip: 'INT32', expected: 'integers from -2147483648 to 2147483647' },
  uint32: { make: (n) => new Uint32Array(n), write: intWriter(0, 4294967295), oip: 'UINT32', expected: 'integers from 0 to 4294967295' },
  int64: {
    make: (n) => new BigInt64Array(n),
    write: bigIntWriter(-(2n ** 63n), 2n ** 63n - 1n),
    oip: 'INT64',
    expected: 'integers from -9223372036854775808 to 9223372036854775807 (beyond ±2^53 exact only as decimal strings, as answers give them)',
  },
  uint64: {
    make: (n) => new BigUint64Array(n),
    write: bigIntWriter(0n, 2n ** 64n - 1n),
    oip: 'UINT64',
    expected: 'integers from 0 to 18446744073709551615 (beyond 2^53 exact only as decimal strings, as answers give them)',
  },
  bool: {
    make: (n) => new Uint8Array(n),
    write: (out, i, v) => typeof v === 'boolean' && (((out as Uint8Array)[i] = v ? 1 : 0), true),
    oip: 'BOOL',
    expected: 'booleans (true or false)',
  },
  // A categorical input (a store id, a product group): JSON strings, as they are, but for U+0000,
  // at which onnxruntime cuts a string ("a\u0000b" would be scored as "a", another category).
  string: {
    make: (n) => new Array<string>(n),
    write: (out, i, v) => typeof v === 'string' && !v.includes('\u0000') && (((out as string[])[i] = v), true),
    oip: 'BYTES',
    expected: 'strings (without the character U+0000)',
  },
};

const OIP_TO_DTYPE: Record<string, DType> = Object.fromEntries(Object.entries(DTYPES).map(([dtype, info]) => [info.oip, dtype as DType]));
const ONNX_TYPE_TO_OIP: Record<string, string> = { float16: 'FP16', bfloat16: 'BF16' };

/** Largest tensor a request may describe; a 32 MiB JSON body cannot carry more numbers anyway. */
export const MAX_ELEMENTS = 16 * 1024 * 1024;

export function isSupportedDType(type: string): type is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, type);
}

export function oipDatatypeOf(type: string): string {
  return isSupportedDType(type) ? DTYPES[type].oip : (ONNX_TYPE_TO_OIP[type] ?? type.toUpperCase());
}

export function dtypeOfOip(datatype: string): DType | undefined {
  return OIP_TO_DTYPE[datatype];
}

export interface DecodeOptions {
  /** MLflow data frames carry missing values as null: NaN for float inputs. */
  nullAsNaN?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * Decodes one input: a nested array (`[[1,2],[3,4]]`), `{"shape":[2,2],"data":[1,2,3,4]}`
 * (flat or nested data, row-major), or a bare scalar for a rank-0 input.
 */
export function decodeInput(spec: TensorSpec, value: unknown, options: DecodeOptions = {}): HostTensor {
  const dtype = requireDType(spec);
  if (Array.isArray(value)) return decodeNested(spec, dtype, value, options);
  if (value !== null && typeof value === 'object' && 'data' in value) {
    const { shape, data } = value as { shape?: unknown; data?: unknown };
    return decodeShaped(spec, shape, data, options);
  }
  if (spec.shape.length === 0 && value !== null && typeof value !== 'object') return decodeShaped(spec, [], [value], options);
  throw invalidInput(`Input '${spec.name}' must be a nested array or {"shape": [...], "data": [...]} (expected shape ${formatShape(spec.shape)})`, {
    input: spec.name,
    expected: { type: spec.type, shape: spec.shape },
  });
}

/** `{shape, data}`: data flat (or nested, read in row-major order) with exactly prod(shape) elements. */
export function decodeShaped(spec: TensorSpec, shape: unknown, data: unknown, options: DecodeOptions = {}): HostTensor {
  const dtype = requireDType(spec);
  if (shape === undefined || shape === null) {
    throw invalidInput(`Input '${spec.name}' has data but no shape: give its shape, an array of non-negative integers (expected ${formatShape(spec.shape)})`, { input: spec.name, expected: { shape: spec.shape } });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalidInput(`Input '${spec.name}': shape must be an array of non-negative integers`, { input: spec.name, got: { shape: Array.isArray(shape) ? shownDims(shape).map(echo) : echo(shape) } });
  }
  const dims = shape as number[];
  checkDims(spec, dims);
  if (!Array.isArray(data)) throw invalidInput(`Input '${spec.name}': data must be an array`, { input: spec.name });
  const size = elementCount(spec, dims);
  const info = DTYPES[dtype];
  const write = (options.nullAsNaN && info.writeNullAsNaN) || info.write;
  const out = info.make(size);
  if (data.length === size && (size === 0 || !Array.isArray(data[0]))) {
    for (let i = 0; i < size; i++) if (!write(out, i, data[i])) throw badElement(spec, dtype, data[i], flatIndexPath(i, dims));
    return { name: spec.name, type: dtype, dims, data: out };
  }
  const written = fillFlattened(data, out, 0, write, spec, dtype, size, Math.max(1, dims.length));
  if (written !== size) {
    throw invalidInput(`Input '${spec.name}': shape ${formatShape(dims)} needs ${size} values, data has ${written > size ? 'more' : written}`, {
      input: spec.name,
      got: { shape: shownDims(dims), values: written > size ? `>${size}` : written },
    });
  }
  return { name: spec.name, type: dtype, dims, data: out };
}

/** The end of an unknown input's message: which inputs the model takes, or that it takes none (and what to send then). */
export function inputsAre(specs: readonly TensorSpec[], noInputs: string): string {
  return specs.length ? `the model's inputs are ${nameList(specs.map((s) => s.name), { quote: true })}` : `the model takes no inputs: send ${noInputs}`;
}

/** Decodes every input of a request in signature order: unknown or missing names, and symbolic dims that disagree, are 400s. */
export function decodeInputs(specs: readonly TensorSpec[], inputs: Record<string, unknown>, options: DecodeOptions = {}): HostTensor[] {
  for (const name of Object.keys(inputs)) {
    if (!specs.some((s) => s.name === name)) {
      throw invalidInput(`Unknown input '${sentName(name)}': ${inputsAre(specs, '"inputs": {}')}`, { input: sentName(name), ...namesDetail('expected', specs.map((s) => s.name)) });
    }
  }
  const tensors: HostTensor[] = new Array(specs.length);
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    // Own keys only: a JSON object still inherits `toString` and the like from Object.prototype.
    const value = Object.hasOwn(inputs, spec.name) ? inputs[spec.name] : undefined;
    if (value === undefined) {
      throw invalidInput(`Missing input '${spec.name}' (${spec.type}, shape ${formatShape(spec.shape)})`, {
        input: spec.name,
        expected: { type: spec.type, shape: spec.shape },
      });
    }
    tensors[i] = decodeInput(spec, value, options);
  }
  checkSymbolicDims(specs, tensors);
  return tensors;
}

/** Inputs sharing a symbolic dimension (`N`) must agree on its size, as must an input's own dimensions of one name (`[N, N]`). */
export function checkSymbolicDims(specs: readonly TensorSpec[], tensors: readonly HostTensor[]): void {
  if (tensors.length < 2 && !(tensors.length === 1 && repeatsSymbol(specs[0].shape))) return;
  checkUnnamedRows(specs, tensors);
  const seen = new Map<string, { input: string; dimension: number; size: number }>();
  for (let i = 0; i < specs.length; i++) {
    const shape = specs[i].shape;
    for (let d = 0; d < shape.length; d++) {
      const symbol = shape[d];
      if (typeof symbol !== 'string') continue;
      const size = tensors[i].dims[d];
      const first = seen.get(symbol);
      if (!first) seen.set(symbol, { input: specs[i].name, dimension: d, size });
      else if (first.size !== size) {
        const other = first.input === specs[i].name ? `its dimension ${first.dimension}` : `input '${first.input}'`;
        throw invalidInput(`Input '${specs[i].name}' has ${symbol} = ${size} (dimension ${d}) but ${other} has ${symbol} = ${first.size}`, {
          input: specs[i].name,
          dimension: d,
          expected: first.size,
          got: size,
        });
      }
    }
  }
}

/**
 * Inputs that are all tables of rows with an unnamed first dimension (`[?, k]`: skl2onnx's one
 * `[?, 1]` input per column) take their rows there, as micro-batching and data frames read them,
 * so they must agree on it: onnxruntime would otherwise broadcast one input's single row over the
 * others' rows, or fail in the graph's Concat. (A rank-1 `[?]` input may be a list of any length.)
 */
function checkUnnamedRows(specs: readonly TensorSpec[], tensors: readonly HostTensor[]): void {
  if (!specs.every((s) => s.shape.length === 2 && s.shape[0] === null)) return;
  const rows = tensors[0].dims[0];
  for (let i = 1; i < tensors.length; i++) {
    const got = tensors[i].dims[0];
    if (got === rows) continue;
    throw invalidInput(`Input '${specs[i].name}' has ${got} rows (dimension 0) but input '${specs[0].name}' has ${rows}: the model's inputs all take their rows along their first dimension`, {
      input: specs[i].name,
      dimension: 0,
      expected: rows,
      got,
    });
  }
}

function decodeNested(spec: TensorSpec, dtype: DType, value: unknown[], options: DecodeOptions): HostTensor {
  // The shape is read off the first element at each level; the fill then checks every row.
  const dims: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  // `[]` (or `[[]]`) says nothing of the rank: it is empty, whatever rank was meant.
  if (dims[dims.length - 1] === 0) throw emptyInput(spec, dims.length - 1, dims);
  checkDims(spec, dims);
  const size = elementCount(spec, dims);
  const info = DTYPES[dtype];
  const write = (options.nullAsNaN && info.writeNullAsNaN) || info.write;
  const out = info.make(size);
  if (dims.length === 2) fillMatrix(value, dims[0], dims[1], out, write, spec, dtype);
  else fillNested(value, dims, 0, out, 0, write, spec, dtype, []);
  return { name: spec.name, type: dtype, dims, data: out };
}

/** The common case, [N, k] rows, without recursion. */
function fillMatrix(rows: unknown[], n: number, k: number, out: TensorData, write: Writer, spec: TensorSpec, dtype: DType): void {
  let i = 0;
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    if (!Array.isArray(row) || row.length !== k) throw ragged(spec, [r], k, row);
    for (let c = 0; c < k; c++, i++) if (!write(out, i, row[c])) throw badElement(spec, dtype, row[c], [r, c]);
  }
}

function fillNested(value: unknown, dims: number[], depth: number, out: TensorData, offset: number, write: Writer, spec: TensorSpec, dtype: DType, path: number[]): number {
  if (depth === dims.length) {
    if (!write(out, offset, value)) throw badElement(spec, dtype, value, path);
    return offset + 1;
  }
  if (!Array.isArray(value) || value.length !== dims[depth]) throw ragged(spec, path, dims[depth], value);
  for (let j = 0; j < value.length; j++) {
    path.push(j);
    offset = fillNested(value[j], dims, depth + 1, out, offset, write, spec, dtype, path);
    path.pop();
  }
  return offset;
}

/**
 * Row-major walk of nested data of any nesting up to the shape's rank (`depth` levels left);
 * returns how many elements it met (stops counting past `size`). Deeper nesting fits no shape
 * of that rank, and is refused before it could exhaust the stack.
 */
function fillFlattened(data: unknown[], out: TensorData, offset: number, write: Writer, spec: TensorSpec, dtype: DType, size: number, depth: number): number {
  for (let j = 0; j < data.length; j++) {
    const v = data[j];
    if (Array.isArray(v)) {
      if (depth <= 1) throw invalidInput(`Input '${spec.name}': data is nested deeper than its shape's ${spec.shape.length} dimension(s)`, { input: spec.name });
      offset = fillFlattened(v, out, offset, write, spec, dtype, size, depth - 1);
    } else {
      if (offset >= size) return offset + 1;
      if (!write(out, offset, v)) throw badElement(spec, dtype, v, [offset], true);
      offset++;
    }
    if (offset > size) return offset;
  }
  return offset;
}

/** Rank and fixed dimensions against the signature (symbolic and unknown dimensions take any size ≥ 1). */
export function checkDims(spec: TensorSpec, dims: readonly number[]): void {
  const expected = spec.shape;
  if (dims.length !== expected.length) {
    throw invalidInput(
      `Input '${spec.name}': expected rank ${expected.length} (shape ${formatShape(expected)}), got rank ${dims.length} (shape ${formatShape(dims)})`,
      { input: spec.name, expected: { shape: expected, rank: expected.length }, got: { shape: shownDims(dims), rank: dims.length } },
    );
  }
  for (let d = 0; d < dims.length; d++) {
    const want = expected[d];
    if (typeof want === 'number' && dims[d] !== want) {
      throw invalidInput(`Input '${spec.name}': dimension ${d} must be ${want} (shape ${formatShape(expected)}), got ${dims[d]}`, {
        input: spec.name,
        dimension: d,
        expected: { shape: expected, size: want },
        got: { shape: shownDims(dims), size: dims[d] },
      });
    }
    if (dims[d] === 0) throw emptyInput(spec, d, dims);
  }
}

function emptyInput(spec: TensorSpec, dimension: number, dims: readonly number[]): ServingError {
  return invalidInput(`Input '${spec.name}' is empty: dimension ${dimension} has size 0`, { input: spec.name, dimension, got: { shape: shownDims(dims) } });
}

function elementCount(spec: TensorSpec, dims: readonly number[]): number {
  let size = 1;
  for (const d of dims) size *= d;
  if (size > MAX_ELEMENTS) {
    throw invalidInput(`Input '${spec.name}' has ${size} elements, more than the ${MAX_ELEMENTS} one request may carry`, {
      input: spec.name,
      got: { shape: shownDims(dims) },
    });
  }
  return size;
}

/** The input's element type, or a 400 saying a request cannot feed it (a version registered before uploads refused such inputs). */
export function requireDType(spec: TensorSpec): DType {
  if (isSupportedDType(spec.type)) return spec.type;
  throw invalidInput(`Input '${spec.name}' has element type ${spec.type}, which this server cannot feed`, {
    input: spec.name,
    expected: { type: spec.type },
  });
}

function ragged(spec: TensorSpec, path: number[], length: number, got: unknown): Error {
  const what = Array.isArray(got) ? `${got.length} values` : describe(got);
  return invalidInput(`Input '${spec.name}' is ragged or too shallow at ${formatPath(path)}: expected an array of ${length} values, got ${what} (shape ${formatShape(spec.shape)})`, {
    input: spec.name,
    at: formatPath(path),
    expected: { length, shape: spec.shape },
  });
}

function badElement(spec: TensorSpec, dtype: DType, value: unknown, path: number[], flat = false): Error {
  const at = flat ? `data[${path[0]}]` : formatPath(path);
  return invalidInput(`Input '${spec.name}' is ${dtype}: expected ${DTYPES[dtype].expected}, got ${describe(value, dtype)} at ${at}`, {
    input: spec.name,
    at,
    expected: { type: dtype },
    got: describe(value, dtype),
  });
}

/**
 * A value the client sent, as an error's details repeat it: a scalar as it is (a string cut to 64
 * characters), an array or object by its kind only, so that a deep or huge one can neither
 * overflow the stack when the answer is written nor swell it.
 */
export function echo(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 64 ? `${value.slice(0, 64)}…` : value;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function describe(value: unknown, dtype?: DType): string {
  if (typeof value === 'number' && (dtype === 'float32' || dtype === 'float64')) return `the number ${value}, beyond ${dtype}'s range (±${dtype === 'float32' ? '3.4e38' : '1.8e308'})`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array (nested deeper than the expected rank)';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'undefined':
      return 'nothing';
    default:
      return 'an object';
  }
}

function flatIndexPath(index: number, dims: readonly number[]): number[] {
  const path = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    path[d] = index % dims[d];
    index = Math.floor(index / dims[d]);
  }
  return path;
}

function formatPath(path: readonly number[]): string {
  if (!path.length) return 'the top level';
  const shown = path.slice(0, MAX_SHOWN_DIMS).map((p) => `[${p}]`).join('');
  return path.length > MAX_SHOWN_DIMS ? `${shown}… (${path.length - MAX_SHOWN_DIMS} levels more)` : shown;
}

/** Dimensions shown in messages and details: a request can nest arrays 100,000 deep, and an error should not echo all of them. */
const MAX_SHOWN_DIMS = 16;

export function formatShape(shape: ReadonlyArray<number | string | null>): string {
  return `[${shownDims(shape).map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** A shape for an error's details, cut as formatShape cuts it. */
function shownDims<T>(dims: readonly T[]): Array<T | string> {
  return dims.length > MAX_SHOWN_DIMS ? [...dims.slice(0, MAX_SHOWN_DIMS), `… ${dims.length - MAX_SHOWN_DIMS} more`] : [...dims];
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

type Json = number | string | boolean | null | Json[];

/** Element → JSON: int64 as a number while it is exact, as a decimal string beyond 2^53. */
function elementReader(type: string, data: ArrayLike<unknown>): (i: number) => Json {
  if (type === 'bool') return (i) => data[i] === 1 || data[i] === true;
  if (type === 'int64' || type === 'uint64') {
    const big = data as ArrayLike<bigint>;
    return (i) => {
      const v = big[i];
      return v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v.toString();
    };
  }
  if (type === 'string') return (i) => String(data[i]);
  const numbers = data as ArrayLike<number>;
  return (i) => numbers[i];
}

/** The tensor as nested arrays following its dims (a bare value for rank 0). */
export function toNested(tensor: { type: string; dims: readonly number[]; data: ArrayLike<unknown> }): Json {
  const { dims } = tensor;
  const read = elementReader(tensor.type, tensor.data);
  if (dims.length === 0) return read(0);
  if (dims.length === 1) {
    const out = new Array<Json>(dims[0]);
    for (let i = 0; i < dims[0]; i++) out[i] = read(i);
    return out;
  }
  if (dims.length === 2) {
    const [n, k] = dims;
    const rows = new Array<Json>(n);
    for (let r = 0, i = 0; r < n; r++) {
      const row = new Array<Json>(k);
      for (let c = 0; c < k; c++, i++) row[c] = read(i);
      rows[r] = row;
    }
    return rows;
  }
  let offset = 0;
  const build = (depth: number): Json => {
    const out = new Array<Json>(dims[depth]);
    for (let j = 0; j < dims[depth]; j++) out[j] = depth === dims.length - 1 ? read(offset++) : build(depth + 1);
    return out;
  };
  return build(0);
}

/**
 * Sets `answer[name]` as an own key, also for an output named `__proto__`: an assignment would
 * set the object's prototype instead, and the output would be missing from the JSON answer.
 */
export function setAnswerKey(answer: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(answer, name, { value, enumerable: true, writable: true, configurable: true });
  else answer[name] = value;
}

/** Row-major flat values (the Open Inference Protocol's `data`). */
export function toFlat(tensor: { type: string; data: ArrayLike<unknown> }): Json[] {
  const read = elementReader(tensor.type, tensor.data);
  const out = new Array<Json>(tensor.data.length);
  for (let i = 0; i < out.length; i++) out[i] = read(i);
  return out;
}

/** Row `r` of a tensor whose first dimension is rows: a bare value when a row holds one element. */
export function rowOf(tensor: { type: string; dims: readonly number[]; data: TensorData }, r: number): Json {
  const perRow = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  if (perRow === 1) return elementReader(tensor.type, tensor.data)(r);
  const base = r * perRow;
  const data = Array.isArray(tensor.data) ? tensor.data.slice(base, base + perRow) : tensor.data.subarray(base, base + perRow);
  return toNested({ type: tensor.type, dims: tensor.dims.slice(1), data });
}

/** Per signature shape (the resolved version's, the same object request after request): asked on every request. */
const repeatsSymbolOf = new WeakMap<TensorSpec['shape'], boolean>();

function repeatsSymbol(shape: TensorSpec['shape']): boolean {
  let repeats = repeatsSymbolOf.get(shape);
  if (repeats === undefined) {
    const symbols = shape.filter((d) => typeof d === 'string');
    repeats = new Set(symbols).size !== symbols.length;
    repeatsSymbolOf.set(shape, repeats);
  }
  return repeats;
}
