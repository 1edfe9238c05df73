import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { DataFormat } from '../batch-job-spec';
import { csvRecords, withLineFeeds } from '../../common/csv';
import { MAX_RECORD_BYTES } from './csv-stager';
import { bigintReviver } from './staging';

// hyparquet ships ES modules whose Node entry (with the file reader) is not in its typings'
// main entry; Node 20 loads them through require(esm).
type AsyncBuffer = { byteLength: number; slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer> };
type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;
interface ParquetMeta {
  num_rows: bigint | number;
  row_groups: Array<{ num_rows: bigint | number; columns: Array<{ meta_data?: { path_in_schema: string[]; codec?: string } }> }>;
  schema: Array<{ name: string; num_children?: number }>;
}
const hyparquet = require('hyparquet') as {
  parquetMetadataAsync(file: AsyncBuffer): Promise<ParquetMeta>;
  parquetReadObjects(options: {
    file: AsyncBuffer;
    metadata?: ParquetMeta;
    columns?: string[];
    rowStart?: number;
    rowEnd?: number;
    compressors?: Record<string, Decompress>;
  }): Promise<Array<Record<string, unknown>>>;
};

// hyparquet itself reads only uncompressed and snappy pages; hyparquet-compressors adds the
// other codecs Spark, pandas/pyarrow and DuckDB write (gzip, zstd, brotli, lz4, lz4_raw). Snappy
// stays hyparquet's own decoder, as before. LZO (no decoder in either package) is refused.
const { SNAPPY: _wasmSnappy, ...extraCodecs } = (require('hyparquet-compressors') as { compressors: Record<string, Decompress> }).compressors;
const PARQUET_DECOMPRESSORS: Record<string, Decompress> = extraCodecs;
export const PARQUET_CODECS: readonly string[] = ['UNCOMPRESSED', 'SNAPPY', ...Object.keys(extraCodecs)];

/** Rows of the input, as values of the requested columns in order; `undefined` where a row lacks one. */
export interface InputRows {
  /** Requested columns the input does not have (CSV header, parquet schema; JSONL rows are checked one by one). */
  missing: string[];
  /** The columns the input has, as its CSV header or parquet schema names them (none for JSONL). */
  columns: string[];
  batches: AsyncIterable<unknown[][]>;
  close(): Promise<void>;
}

/**
 * Why a job cannot run on an input that lacks columns it names: the columns it does have, so a
 * header that is not what was expected shows at once — a CSV saved with ';' as separator (Excel
 * in a locale with a decimal comma, as Dutch or German) reads as one column named 'model;a;b'.
 */
export function missingColumnsMessage(missing: readonly string[], found: readonly string[]): string {
  let message = `The input has no column ${missing.map((c) => `'${c}'`).join(', ')}`;
  if (!found.length) return message;
  const shown = found.slice(0, 20).map((c) => `'${c.slice(0, 100)}'`).join(', ');
  message += `; its columns are ${shown}${found.length > 20 ? `, … (${found.length} in all)` : ''}`;
  const separator = found.length === 1 ? [';', '\t', '|'].find((c) => found[0].includes(c)) : undefined;
  if (separator) message += ` — separated by '${separator === '\t' ? '\\t' : separator}'? CSV input is read comma-separated (RFC 4180)`;
  return message;
}

/** Opens an input file for streaming; nothing beyond a chunk, a batch of rows or a parquet row group is held. */
export async function openInput(file: string, format: DataFormat, columns: readonly string[]): Promise<InputRows> {
  switch (format) {
    case 'csv':
      return openCsv(file, columns);
    case 'jsonl':
      return openJsonl(file, columns);
    case 'parquet':
      return openParquet(file, columns);
  }
}

async function openCsv(file: string, columns: readonly string[]): Promise<InputRows> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  const records = csvRecords(withLineFeeds(stream as AsyncIterable<string>), 2048);
  const first = await records.next();
  const header = first.done ? [] : first.value[0];
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (!index.has(name)) index.set(name, i);
  });
  const missing = columns.filter((c) => !index.has(c));
  const at = columns.map((c) => index.get(c) ?? -1);
  const pick = (record: string[]) => at.map((i) => (i < 0 || i >= record.length ? undefined : record[i]));
  async function* batches(): AsyncGenerator<unknown[][]> {
    if (first.done) return;
    const rest = first.value.slice(1);
    if (rest.length) yield rest.map(pick);
    for await (const batch of records) yield batch.map(pick);
  }
  return { missing, columns: header, batches: batches(), close: async () => void stream.destroy() };
}

/** The longest JSONL line read: as for a CSV record, a longer one fails the job rather than being held whole. */
const MAX_LINE_CHARS = MAX_RECORD_BYTES;

/**
 * A text file's lines, split as readline splits them (LF, CRLF or CR; a CRLF cut between two
 * chunks gives an extra empty line, which JSONL skips), each at most MAX_LINE_CHARS long: a
 * file with no line breaks (a JSON array of every row, a binary file) fails at that length
 * instead of being read into one string of gigabytes, which would take the process down.
 */
async function* boundedLines(stream: AsyncIterable<string>): AsyncGenerator<string> {
  let partial = '';
  for await (const chunk of stream) {
    // The chunk alone is split, and what was left of the line before joins its first piece: splitting
    // that rest again with every chunk would scan a long line once per chunk (1.4 s for 16 MiB).
    const lines = chunk.split(/\r\n|\r|\n/);
    lines[0] = partial + lines[0];
    partial = lines.pop()!;
    yield* lines;
    if (partial.length > MAX_LINE_CHARS) {
      throw new Error(`A line is longer than ${MAX_LINE_CHARS / (1024 * 1024)} MiB without ending: JSON Lines takes one object per line (a JSON array of the rows is not JSON Lines)`);
    }
  }
  if (partial) yield partial;
}

async function openJsonl(file: string, columns: readonly string[]): Promise<InputRows> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  const lines = boundedLines(stream as AsyncIterable<string>);
  async function* batches(): AsyncGenerator<unknown[][]> {
    let batch: unknown[][] = [];
    let first = true;
    for await (const raw of lines) {
      const line = first && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      first = false;
      if (!line.trim()) continue;
      let row: unknown;
      try {
        row = parseJsonLine(line);
      } catch {
        row = null;
      }
      // A line that is not a JSON object keeps its place, as a row whose route says so (its rows fail with that reason).
      if (row === null || typeof row !== 'object' || Array.isArray(row)) batch.push(columns.map(() => NOT_AN_OBJECT));
      else batch.push(columns.map((c) => (row as Record<string, unknown>)[c]));
      if (batch.length >= 2048) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  return { missing: [], columns: [], batches: batches(), close: async () => void stream.destroy() };
}

async function openParquet(file: string, columns: readonly string[]): Promise<InputRows> {
  const handle = await fsp.open(file, 'r');
  const { size } = await handle.stat();
  const buffer: AsyncBuffer = {
    byteLength: size,
    async slice(start: number, end = size) {
      const bytes = Buffer.alloc(end - start);
      await handle.read(bytes, 0, end - start, start);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  let metadata: ParquetMeta;
  let present: string[];
  let missing: string[];
  let found: string[];
  try {
    metadata = await hyparquet.parquetMetadataAsync(buffer);
    const topLevel = topLevelColumns(metadata);
    found = [...topLevel];
    missing = columns.filter((c) => !topLevel.includes(c));
    present = columns.filter((c) => topLevel.includes(c));
    checkCodecs(metadata, present);
  } catch (error) {
    await handle.close();
    throw error;
  }
  async function* batches(): AsyncGenerator<unknown[][]> {
    let start = 0;
    // One row group at a time (rows in slices of at most 64k): memory stays bounded by a row group's columns.
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      for (let offset = 0; offset < groupRows; offset += 65_536) {
        const rowStart = start + offset;
        const rowEnd = start + Math.min(groupRows, offset + 65_536);
        const rows = present.length ? await hyparquet.parquetReadObjects({ file: buffer, metadata, columns: present, rowStart, rowEnd, compressors: PARQUET_DECOMPRESSORS }) : Array.from({ length: rowEnd - rowStart }, () => ({}) as Record<string, unknown>);
        yield rows.map((r) => columns.map((c) => r[c]));
      }
      start += groupRows;
    }
  }
  return { missing, columns: found, batches: batches(), close: () => handle.close() };
}

/**
 * Refuses, before any row is read, a column that is read and whose pages use a codec this
 * service cannot decompress: the job then fails with this message (or the submit answers 400)
 * instead of failing midway through the file.
 */
function checkCodecs(metadata: ParquetMeta, columns: readonly string[]): void {
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (!meta || !columns.includes(meta.path_in_schema[0]) || PARQUET_CODECS.includes(meta.codec ?? '')) continue;
      throw new Error(
        `parquet column '${meta.path_in_schema.join('.')}' is compressed with ${meta.codec ?? 'an unknown codec'}, which cannot be read; supported codecs: ${PARQUET_CODECS.join(', ')}`,
      );
    }
  }
}

function topLevelColumns(metadata: ParquetMeta): string[] {
  const names: string[] = [];
  // schema[0] is the root; walk its direct children, skipping nested descendants.
  const schema = metadata.schema;
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let c = 0; c < (schema[at].num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    names.push(schema[i].name);
    i = skip(i);
  }
  return names;
}

/** The values of a JSONL line that is not a JSON object (no model name or segment value can be this). */
export const NOT_AN_OBJECT = '<not a JSON object>';

/** Integers of 16 digits or more may be beyond 2^53, where JSON.parse rounds them. */
const LONG_DIGITS = /\d{16}/;

/**
 * JSON.parse for a JSONL line, except that integers beyond 2^53 (64-bit ids, say) come back
 * exact, as bigints, instead of rounded — as they do from CSV (text) and Parquet (INT64).
 */
export function parseJsonLine(line: string): unknown {
  if (!LONG_DIGITS.test(line)) return JSON.parse(line);
  return JSON.parse(markLongIntegers(line), bigintReviver);
}

/** Rewrites each integer literal beyond 2^53 outside strings as {"$bigint":"…"} (what bigintReviver reads back). */
function markLongIntegers(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  const n = text.length;
  const isDigit = (c: number) => c >= 48 && c <= 57;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: skip to its closing quote (escapes included).
      for (i++; i < n && text.charCodeAt(i) !== 34; i += text.charCodeAt(i) === 92 ? 2 : 1);
      i++;
      continue;
    }
    if (c !== 45 && !isDigit(c)) {
      i++;
      continue;
    }
    let j = c === 45 ? i + 1 : i;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    const next = text.charCodeAt(j);
    const integer = next !== 46 && next !== 101 && next !== 69; // no fraction or exponent
    if (integer && j - i >= 16 && !Number.isSafeInteger(Number(text.slice(i, j)))) {
      out += text.slice(copied, i) + `{"$bigint":"${text.slice(i, j)}"}`;
      copied = j;
    }
    // Past the whole number (fraction and exponent too).
    while (j < n && /[0-9.eE+-]/.test(text[j])) j++;
    i = j;
  }
  return out + text.slice(copied);
}
