import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { DataFormat } from '../batch-job-spec';
import { csvField } from '../../common/csv';

/** Type of an output column; passthrough columns of JSONL/parquet inputs get theirs at commit, from the values seen. */
export type ColumnType = 'string' | 'float' | 'double' | 'int32' | 'int64' | 'boolean' | 'json' | 'passthrough';

export interface OutputColumn {
  name: string;
  type: ColumnType;
}

/**
 * Bit flags of the kinds of value a passthrough column held (to type it in parquet): besides
 * the JSON type, whether a number had a fraction and whether a bigint (a JSONL or Parquet
 * integer beyond 2^53) fell outside INT64.
 */
export const KIND = { string: 1, number: 2, boolean: 4, bigint: 8, object: 16, fraction: 32, beyondInt64: 64 } as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function kindOf(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return KIND.string;
    case 'number':
      return Number.isInteger(value) ? KIND.number : KIND.number | KIND.fraction;
    case 'boolean':
      return KIND.boolean;
    case 'bigint':
      return value < INT64_MIN || value > INT64_MAX ? KIND.bigint | KIND.beyondInt64 : KIND.bigint;
    case 'object':
      return value === null ? 0 : KIND.object;
    default:
      return 0;
  }
}

/**
 * Parquet type of a passthrough column from the kinds of value it held across partitions, never
 * losing a value: numbers are DOUBLE, integers among which some are beyond 2^53 are INT64 (all
 * exact), and what neither holds exactly (a fraction beside a big integer, an integer beyond
 * INT64, mixed kinds) is text.
 */
export function passthroughType(kinds: number): ColumnType {
  const numeric = kinds & ~(KIND.fraction | KIND.beyondInt64);
  if (numeric === KIND.number) return 'double';
  if (kinds === KIND.boolean) return 'boolean';
  if ((numeric === KIND.bigint || numeric === (KIND.bigint | KIND.number)) && !(kinds & (KIND.fraction | KIND.beyondInt64))) return 'int64';
  return 'string';
}

/** The shortest decimal that reads back as the same float32 (142.5, not 142.50000762939453). */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(v)) {
    const s = String(v);
    if (s.length <= 9) return s;
  }
  // Seven significant digits first: most float32 values need 7–9, and fewer come out of Number().
  for (let p = 7; p < 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(Number(v.toPrecision(9)));
}

/** A value as JSON text (bigints as numbers, non-finite numbers as null). */
export function jsonValue(v: unknown, type?: ColumnType): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? (type === 'float' ? formatFloat32(v) : String(v)) : 'null';
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

/** A value as a CSV field (empty for missing, NaN and infinities as text). */
export function csvValue(v: unknown, type?: ColumnType): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return csvField(v);
  if (typeof v === 'number') return type === 'float' ? formatFloat32(v) : String(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return csvField(JSON.stringify(v));
}

/**
 * Encodes output rows (all columns of the job, `undefined` where a model has no such output)
 * as the lines of a partition file. CSV and JSONL partition files are already in the final
 * format (the commit concatenates them); parquet partitions are JSON arrays, turned into row
 * groups at commit.
 */
export function rowEncoder(format: DataFormat, columns: readonly OutputColumn[]): (values: unknown[]) => string {
  const types = columns.map((c) => c.type);
  if (format === 'csv') {
    return (values) => {
      let line = '';
      for (let i = 0; i < types.length; i++) line += (i ? ',' : '') + csvValue(values[i], types[i]);
      return line + '\n';
    };
  }
  if (format === 'jsonl') {
    const keys = columns.map((c) => JSON.stringify(c.name) + ':');
    return (values) => {
      let line = '{';
      let first = true;
      for (let i = 0; i < types.length; i++) {
        if (values[i] === undefined) continue;
        line += (first ? '' : ',') + keys[i] + jsonValue(values[i], types[i]);
        first = false;
      }
      return line + '}\n';
    };
  }
  return (values) => {
    let line = '[';
    for (let i = 0; i < types.length; i++) {
      const v = values[i];
      line += (i ? ',' : '') + (typeof v === 'bigint' ? `"${v}"` : jsonValue(v, types[i]));
    }
    return line + ']\n';
  };
}

export const CONTENT_TYPES: Record<DataFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

export interface PartitionFile {
  path: string;
  /** Columns the partition was written with (a prefix of the job's columns). */
  columnCount: number;
  checksum: string;
  rows: number;
}

export class ChecksumMismatchError extends Error {}

// hyparquet-writer's Node file writer is not in its typings' main entry (see input-reader).
interface ParquetWriterLike {
  write(options: { columnData: Array<{ name: string; data: unknown[]; type: string; nullable: boolean }>; rowGroupSize?: number }): void | Promise<void>;
  finish(): void | Promise<void>;
}
const hyparquetWriter = require('hyparquet-writer') as {
  fileWriter(filename: string): unknown;
  schemaFromColumnData(options: { columnData: Array<{ name: string; data: unknown[]; type: string; nullable: boolean }> }): unknown[];
  ParquetWriter: new (options: { writer: unknown; schema: unknown[]; codec?: string }) => ParquetWriterLike;
};

const PARQUET_TYPES: Record<Exclude<ColumnType, 'passthrough'>, string> = {
  string: 'STRING',
  json: 'STRING',
  float: 'FLOAT',
  double: 'DOUBLE',
  int32: 'INT32',
  int64: 'INT64',
  boolean: 'BOOLEAN',
};
const ROW_GROUP_ROWS = 100_000;

/**
 * Writes the final output file from the partition files, in order, verifying each one's
 * checksum against the ledger on the way (a file changed after its partition was recorded
 * fails the commit rather than slipping into the output).
 */
export async function writeFinalOutput(format: DataFormat, target: string, columns: readonly OutputColumn[], parts: readonly PartitionFile[]): Promise<number> {
  if (format === 'parquet') return writeParquet(target, columns, parts);
  const out = fs.createWriteStream(target);
  let rows = 0;
  try {
    if (format === 'csv') await write(out, columns.map((c) => csvField(c.name)).join(',') + '\n');
    for (const part of parts) {
      const hash = createHash('sha256');
      const pad = format === 'csv' ? ','.repeat(columns.length - part.columnCount) : '';
      if (!pad) {
        for await (const chunk of fs.createReadStream(part.path, { highWaterMark: 1024 * 1024 })) {
          hash.update(chunk as Buffer);
          await write(out, chunk as Buffer);
        }
      } else {
        // Written before a later-resolved model added columns: extend each line with empty fields.
        for await (const chunk of fs.createReadStream(part.path, { highWaterMark: 1024 * 1024 })) {
          hash.update(chunk as Buffer);
          await write(out, (chunk as Buffer).toString('utf8').replace(/\n/g, `${pad}\n`));
        }
      }
      if (hash.digest('hex') !== part.checksum) throw new ChecksumMismatchError(`partition file ${part.path} does not match its recorded checksum`);
      rows += part.rows;
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
  await fsyncFile(target);
  return rows;
}

async function writeParquet(target: string, columns: readonly OutputColumn[], parts: readonly PartitionFile[]): Promise<number> {
  const types = columns.map((c) => (c.type === 'passthrough' ? 'string' : c.type)) as Array<Exclude<ColumnType, 'passthrough'>>;
  const fresh = () => columns.map(() => [] as unknown[]);
  let data = fresh();
  let buffered = 0;
  let rows = 0;
  const columnData = () => columns.map((c, i) => ({ name: c.name, data: data[i], type: PARQUET_TYPES[types[i]], nullable: true }));
  const writer = new hyparquetWriter.ParquetWriter({ writer: hyparquetWriter.fileWriter(target), schema: hyparquetWriter.schemaFromColumnData({ columnData: columnData() }), codec: 'SNAPPY' });
  const flush = async () => {
    if (!buffered) return;
    await writer.write({ columnData: columnData(), rowGroupSize: buffered });
    data = fresh();
    buffered = 0;
  };
  for (const part of parts) {
    const hash = createHash('sha256');
    const stream = fs.createReadStream(part.path);
    stream.on('data', (chunk) => hash.update(chunk as Buffer));
    for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line) continue;
      const values = JSON.parse(line) as unknown[];
      for (let i = 0; i < types.length; i++) data[i].push(toParquet(values[i], types[i]));
      buffered++;
      rows++;
      if (buffered >= ROW_GROUP_ROWS) await flush();
    }
    if (hash.digest('hex') !== part.checksum) throw new ChecksumMismatchError(`partition file ${part.path} does not match its recorded checksum`);
  }
  await flush();
  await writer.finish();
  await fsyncFile(target);
  return rows;
}

function toParquet(v: unknown, type: Exclude<ColumnType, 'passthrough'>): unknown {
  if (v === undefined || v === null) return null;
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'json':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'int64':
      // Bigints arrive as their decimal text (the staging form); numbers here are integers.
      return (typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v)) ? BigInt(v) : null;
    case 'int32':
    case 'float':
    case 'double':
      return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
  }
}

/** Writes a chunk; when the stream's buffer is full, answers a promise that settles on drain (or error). */
export function write(out: fs.WriteStream, chunk: string | Buffer): Promise<void> | void {
  if (out.write(chunk)) return;
  return new Promise((resolve, reject) => {
    // Both listeners go once either fires: a long output waits for many drains.
    const drained = () => {
      out.off('error', failed);
      resolve();
    };
    const failed = (error: Error) => {
      out.off('drain', drained);
      reject(error);
    };
    out.once('drain', drained);
    out.once('error', failed);
  });
}

export async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
