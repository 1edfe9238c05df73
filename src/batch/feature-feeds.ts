import { PANDAS_NA_VALUES } from '../common/csv';
import type { TensorSpec } from '../registry/artifact/artifact.types';
import type { HostTensor } from '../serving/tensor-codec';

/** How a partition's feature columns become a model's input tensors. */
export interface FeedPlan {
  /**
   * Tensors for the rows whose values all convert (`rows[i]` holds the features in the job's
   * order); the others are listed as bad with the reason, and left out.
   */
  build(rows: readonly unknown[][]): { feeds: HostTensor[]; kept: number[]; bad: Array<{ index: number; message: string }> };
}

type Converter = (v: unknown) => number | bigint | boolean | string | typeof BAD;
const BAD = Symbol('bad');

/**
 * Matches the features to the model's inputs: one input `[N, F]` (or `[N]` for one feature)
 * takes all of them in order; several inputs take one feature each, by name. Throws with a
 * message saying what the model takes when neither fits.
 */
export function planFeeds(model: string, version: number, inputs: readonly TensorSpec[], features: readonly string[]): FeedPlan {
  const describe = () => inputs.map((s) => `${s.name} ${s.type}[${s.shape.map((d) => d ?? '?').join(',')}]`).join(', ');
  if (inputs.length === 1) {
    const spec = inputs[0];
    const width = spec.shape.length === 2 ? spec.shape[1] : spec.shape.length === 1 ? 1 : null;
    const fits = (spec.shape.length === 2 && (typeof width !== 'number' || width === features.length)) || (spec.shape.length === 1 && features.length === 1);
    if (fits) {
      const convert = converterFor(spec.type);
      const dims = (n: number) => (spec.shape.length === 2 ? [n, features.length] : [n]);
      const alloc = allocatorFor(spec.type);
      return {
        build(rows) {
          const kept: number[] = [];
          const bad: Array<{ index: number; message: string }> = [];
          // Written straight into the tensor's array; a row that fails is overwritten by the next.
          const values = alloc(rows.length * features.length);
          let w = 0;
          for (let r = 0; r < rows.length; r++) {
            const row = rows[r];
            const start = w;
            let failed = -1;
            for (let f = 0; f < features.length; f++) {
              const v = convert(row[f]);
              if (v === BAD) {
                failed = f;
                break;
              }
              values[w++] = v;
            }
            if (failed >= 0) {
              w = start;
              bad.push({ index: r, message: `feature '${features[failed]}' = ${show(row[failed])} is not a valid ${spec.type}` });
            } else kept.push(r);
          }
          const data = w === values.length ? values : values.slice(0, w);
          return { feeds: [{ name: spec.name, type: spec.type, dims: dims(kept.length), data: data as HostTensor['data'] }], kept, bad };
        },
      };
    }
  }
  const byName = inputs.map((s) => features.indexOf(s.name));
  const oneColumn = inputs.every((s) => s.shape.length === 1 || (s.shape.length === 2 && (s.shape[1] === 1 || typeof s.shape[1] !== 'number')));
  if (inputs.length > 0 && byName.every((i) => i >= 0) && oneColumn) {
    const converters = inputs.map((s) => converterFor(s.type));
    return {
      build(rows) {
        const kept: number[] = [];
        const bad: Array<{ index: number; message: string }> = [];
        const columns = inputs.map((s) => allocatorFor(s.type)(rows.length));
        let n = 0;
        for (let r = 0; r < rows.length; r++) {
          const converted: Array<number | bigint | boolean | string> = [];
          let failed = -1;
          for (let i = 0; i < inputs.length; i++) {
            const v = converters[i](rows[r][byName[i]]);
            if (v === BAD) {
              failed = i;
              break;
            }
            converted.push(v);
          }
          if (failed >= 0) {
            bad.push({ index: r, message: `feature '${inputs[failed].name}' = ${show(rows[r][byName[failed]])} is not a valid ${inputs[failed].type}` });
            continue;
          }
          kept.push(r);
          for (let i = 0; i < converted.length; i++) columns[i][n] = converted[i];
          n++;
        }
        const feeds = inputs.map((s, i) => ({ name: s.name, type: s.type, dims: s.shape.length === 2 ? [kept.length, 1] : [kept.length], data: (n === rows.length ? columns[i] : columns[i].slice(0, n)) as HostTensor['data'] }));
        return { feeds, kept, bad };
      },
    };
  }
  throw new Error(`model '${model}' version ${version} takes ${describe()}; the job's ${features.length} features (${features.join(', ')}) fit neither one [N, ${features.length}] input nor one input per feature by name`);
}

function show(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v === undefined ? 'missing' : JSON.stringify(typeof v === 'bigint' ? v.toString() : v)?.slice(0, 60) ?? String(v);
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * The common case without the regular expression: a value that starts with a digit, '-' or
 * '.' and that Number() reads as a finite number is one NUMBER accepts too — except '0x…',
 * '0b…', '0o…' (which NUMBER refuses), left to the full check, as is everything else.
 */
function plainDecimal(v: string): number | null {
  const c = v.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 || c === 46)) return null;
  if (c === 48 && v.length > 1) {
    const next = v.charCodeAt(1) | 32;
    if (next === 120 || next === 98 || next === 111) return null;
  }
  const n = Number(v);
  return n - n === 0 ? n : null;
}

/** float16's largest value is 65504; from 65520 on a value rounds to Infinity. */
const FLOAT16_LIMIT = 65520;

/**
 * A feature value as a float: empty and null are missing values (NaN), as online serving reads
 * null for floats, and so are the spellings pandas reads as missing (`NA` from R, `NULL` from
 * SQL exports…), as the same file posted to the MLflow route would be read.
 */
function floatReader(v: unknown): number | typeof BAD {
  if (typeof v === 'number') return v;
  if (v === undefined || v === null || v === '') return NaN;
  if (typeof v === 'string') {
    const quick = plainDecimal(v);
    if (quick !== null) return quick;
    return NUMBER.test(v) ? Number(v) : PANDAS_NA_VALUES.has(v.trim()) ? NaN : BAD;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  return BAD;
}

/**
 * An integer written as text the way a JSON number may be (`12`, `2.0`, `1e3`): the value when
 * it is whole, else NaN. A CSV column of integers with a gap in it is written `2.0` by pandas, and
 * JSONL's `2.0` and `1e3` are read as the integers they are: the CSV cell is read the same.
 */
function integralText(v: string): number {
  if (!NUMBER.test(v)) return NaN;
  const n = Number(v);
  return Number.isInteger(n) ? n : NaN;
}

function converterFor(type: string): Converter {
  switch (type) {
    case 'float32':
    case 'float64':
    case 'float16': {
      // A value the type cannot hold would silently become ±Infinity: the row fails instead (NaN is a missing value).
      const fits = type === 'float64' ? (x: number) => x - x === 0 : type === 'float32' ? (x: number) => Math.fround(x) - Math.fround(x) === 0 : (x: number) => x > -FLOAT16_LIMIT && x < FLOAT16_LIMIT;
      return (v) => {
        const x = floatReader(v);
        return typeof x === 'number' && x === x && !fits(x) ? BAD : x;
      };
    }
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      // Out of the type's range is refused, as online serving does, rather than wrapped (uint8 256 → 0).
      const [min, max] = INT_RANGES[type];
      return (v) => {
        const n = typeof v === 'number' ? v : typeof v === 'string' ? integralText(v) : typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) : NaN;
        return Number.isInteger(n) && n >= min && n <= max ? n : BAD;
      };
    }
    case 'int64':
    case 'uint64': {
      const [min, max] = type === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      const inRange = (b: bigint) => (b >= min && b <= max ? b : BAD);
      return (v) => {
        if (typeof v === 'bigint') return inRange(v);
        if (typeof v === 'number') return Number.isSafeInteger(v) ? inRange(BigInt(v)) : BAD;
        if (typeof v === 'string') {
          if (/^\s*[-+]?\d+\s*$/.test(v)) return inRange(BigInt(v.trim()));
          const n = integralText(v);
          return Number.isSafeInteger(n) ? inRange(BigInt(n)) : BAD;
        }
        if (typeof v === 'boolean') return v ? 1n : 0n;
        return BAD;
      };
    }
    case 'bool':
      return (v) => {
        if (typeof v === 'boolean') return v;
        if (v === 1 || v === '1' || v === 'true' || v === 'True' || v === 'TRUE') return true;
        if (v === 0 || v === '0' || v === 'false' || v === 'False' || v === 'FALSE') return false;
        return BAD;
      };
    case 'string':
      // Strings only, as online: a number's text may not be the category meant ("42" for "0042"), an
      // object's is "[object Object]"; onnxruntime cuts a string at U+0000 (another category).
      return (v) => (typeof v === 'string' && !v.includes('\u0000') ? v : BAD);
    default:
      return () => BAD;
  }
}

/** A writable array for `n` values of an input type; booleans are stored as 0/1 bytes, other types (strings) in a plain array. */
type Values = { [i: number]: number | bigint | boolean | string; length: number; slice(start: number, end: number): Values };

const TYPED: Record<string, new (n: number) => Values> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

function allocatorFor(type: string): (n: number) => Values {
  const Typed = TYPED[type];
  return Typed ? (n) => new Typed(n) : (n) => new Array<string>(n);
}
