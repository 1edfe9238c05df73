import * as fs from 'node:fs';
import { CsvError, parseRecord, withLineFeeds } from '../../common/csv';
import { SpillWriter } from './spill-writer';
import { stagingJson } from './staging';

const COMMA = 44;
const LF = 10;
const CR = 13;
const QUOTE = 34;
const CHUNK_BYTES = 1024 * 1024;
/**
 * The longest record (the header included) read: a record is held whole until its end, so a
 * file without line ends, or with a quote that is never closed, would otherwise be read into
 * memory whole (chunk after chunk concatenated) before anything said what is wrong with it.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

function recordTooLong(what: string): CsvError {
  return new CsvError(`${what} is longer than ${MAX_RECORD_BYTES / (1024 * 1024)} MiB without ending: a quote that is never closed, or a file that is not CSV?`);
}

/** Where the next row with a route key goes, or null to stop reading (too many routes). */
export type PlaceRow = (key: string) => { file: string; rowNo: number } | null;

/**
 * Planning's read of a CSV input, on bytes: it finds each record's fields without making
 * strings of them, takes the route key from the route columns, and copies the other needed
 * values byte for byte into the partition's staging file (see staging.ts). This is the part of
 * a batch job that reads every row on one thread before any scoring starts, so it matters
 * that it be cheap. Records with a quote, or too few fields, go through the string parser
 * (csv.ts) and are staged as JSON: both ways give the same values as csvRecords would.
 */
export class CsvStager {
  private constructor(
    private readonly stream: fs.ReadStream,
    private readonly chunks: AsyncIterator<Buffer>,
    /** Bytes read past the header. */
    private carry: Buffer,
    /** Index in the record of each requested column (route columns first); -1 when missing. */
    private readonly at: number[],
    readonly missing: string[],
    /** The header's column names. */
    readonly columns: string[],
  ) {}

  /** Opens the file and reads its header (the first non-empty record). */
  static async open(file: string, columns: readonly string[], chunkBytes = CHUNK_BYTES): Promise<CsvStager> {
    const stream = fs.createReadStream(file, { highWaterMark: chunkBytes });
    const chunks = withLineFeeds(stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    let header: string[] | null = null;
    let bomChecked = false;
    while (header === null) {
      if (!bomChecked && (buf.length >= 3 || done)) {
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
        bomChecked = true;
      }
      const record = bomChecked ? nextRecord(buf, 0, done) : null;
      if (record) {
        buf = buf.subarray(record.bytes);
        if (!isEmptyRecord(record.fields)) header = record.fields;
        else if (!buf.length && done) header = [];
        continue;
      }
      if (done) {
        header = [];
        break;
      }
      if (buf.length > MAX_RECORD_BYTES) {
        stream.destroy();
        throw recordTooLong('The header row');
      }
      const next = await chunks.next();
      if (next.done) done = true;
      else buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
    }
    const index = new Map<string, number>();
    header.forEach((name, i) => {
      if (!index.has(name)) index.set(name, i);
    });
    return new CsvStager(
      stream,
      chunks,
      buf,
      columns.map((c) => index.get(c) ?? -1),
      columns.filter((c) => !index.has(c)),
      header,
    );
  }

  /**
   * Stages every row: `routeKeyOf` gets the route columns' values, `place` says where the row
   * goes. Answers false when `place` stopped it. `check` runs between chunks (lease checks).
   * Memory: one chunk, plus what the spill writer buffers (its bound may be passed by one chunk).
   */
  async stage(routeCount: number, routeKeyOf: (values: readonly unknown[]) => string, place: PlaceRow, spill: SpillWriter, check: () => void): Promise<boolean> {
    const at = this.at;
    const last = Math.max(...at);
    const starts = new Int32Array(last + 1);
    const ends = new Int32Array(last + 1);
    const keys = new Map<string, string>();
    const adjacentRoutes = at.slice(0, routeCount).every((column, r) => r === 0 || column === at[r - 1] + 1);
    let wait: Promise<void> | undefined;

    const stageJson = (values: unknown[]): boolean => {
      const placed = place(routeKeyOf(values));
      if (!placed) return false;
      wait = spill.append(placed.file, stagingJson(placed.rowNo, values.slice(routeCount), false)) ?? wait;
      return true;
    };

    /**
     * A quote-free record whose first `found` fields (all of them when it has fewer than
     * `last` + 1) are at starts/ends: staged as raw bytes, or as JSON when fields are missing.
     */
    const stageRecord = (buf: Buffer, found: number): boolean => {
      if (found <= last) return stageJson(at.map((i) => (i < found ? buf.toString('utf8', starts[i], ends[i]) : undefined)));
      // The route values' bytes as a lookup key (latin1: one character per byte). Adjacent
      // route columns are one slice, commas included; others are joined by U+0100, which
      // latin1 never makes.
      let raw = buf.toString('latin1', starts[at[0]], ends[at[adjacentRoutes ? routeCount - 1 : 0]]);
      if (!adjacentRoutes) for (let r = 1; r < routeCount; r++) raw += '\u0100' + buf.toString('latin1', starts[at[r]], ends[at[r]]);
      let key = keys.get(raw);
      if (key === undefined) {
        key = routeKeyOf(at.slice(0, routeCount).map((i) => buf.toString('utf8', starts[i], ends[i])));
        keys.set(raw, key);
      }
      const placed = place(key);
      if (!placed) return false;
      let size = 24;
      for (let c = routeCount; c < at.length; c++) size += ends[at[c]] - starts[at[c]] + 1;
      const room = spill.reserve(placed.file, size);
      const out = room.buffer;
      let o = writeDigits(out, room.at, placed.rowNo);
      for (let c = routeCount; c < at.length; c++) {
        out[o++] = COMMA;
        const s = starts[at[c]];
        const e = ends[at[c]];
        // Values are short: a plain loop beats Buffer.copy's call overhead.
        if (e - s > 64) o += buf.copy(out, o, s, e);
        else for (let k = s; k < e; k++) out[o++] = buf[k];
      }
      out[o++] = LF;
      wait = spill.commit(o) ?? wait;
      return true;
    };

    /** Stages the records in buf; answers where the first incomplete one starts (-1: stopped). */
    const scan = (buf: Buffer, final: boolean): number => {
      const n = buf.length;
      let p = 0;
      // The next quote at or after p (n: none in buf). Searched again only once passed, so a
      // file without quotes costs one search per chunk.
      let quote = -1;
      while (p < n) {
        if (quote < p) {
          quote = buf.indexOf(QUOTE, p);
          if (quote < 0) quote = n;
        }
        // One pass over the bytes bounds the needed fields (a call per field to indexOf costs
        // more than looking at each byte of short fields); the rest of the line is skipped.
        let found = 0;
        let from = p;
        let k = p;
        for (; k < n; k++) {
          const c = buf[k];
          if (c === COMMA) {
            starts[found] = from;
            ends[found] = k;
            from = k + 1;
            if (++found > last) break;
          } else if (c === LF) break;
        }
        let nl = k < n && buf[k] === LF ? k : buf.indexOf(LF, k);
        if (quote < (nl < 0 ? n : nl)) {
          const record = nextSlowRecord(buf, p, final);
          if (!record) return p;
          p += record.bytes;
          if (!isEmptyRecord(record.fields) && !stageJson(at.map((i) => (i < record.fields.length ? record.fields[i] : undefined)))) return -1;
          continue;
        }
        if (nl < 0) {
          if (!final) return p;
          nl = n;
        }
        const end = nl > p && buf[nl - 1] === CR ? nl - 1 : nl;
        if (found <= last) {
          // The line's last field (its CR, before the LF, is not part of it).
          starts[found] = from;
          ends[found] = Math.max(from, end);
          found++;
        }
        if (end > p && !stageRecord(buf, found)) return -1;
        p = nl + 1;
      }
      return n;
    };

    let buf = this.carry;
    for (;;) {
      const next = await this.chunks.next();
      if (!next.done) buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
      const consumed = scan(buf, next.done === true);
      if (consumed < 0) return false;
      buf = buf.subarray(consumed);
      if (buf.length > MAX_RECORD_BYTES) throw recordTooLong('A record');
      if (wait) await wait;
      wait = undefined;
      if (next.done) return true;
      check();
    }
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Writes a positive integer's decimal digits at `at`; answers where they end. */
function writeDigits(out: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  let o = at + digits;
  for (let v = value; o > at; v = Math.floor(v / 10)) out[--o] = 48 + (v % 10);
  return at + digits;
}

function isEmptyRecord(fields: string[]): boolean {
  return fields.length === 1 && fields[0] === '';
}

/**
 * The record at buf[p…] by csvRecords' rules: a record whose first line has no quote ends at
 * that line's LF (a lone CR stays in its last field); one with a quote goes through the string
 * parser. Answers null when the buffer ends first (unless `final`) or holds nothing.
 */
function nextRecord(buf: Buffer, p: number, final: boolean): { fields: string[]; bytes: number } | null {
  const nl = buf.indexOf(LF, p);
  const lineEnd = nl < 0 ? buf.length : nl;
  const quote = buf.indexOf(QUOTE, p);
  if (quote >= 0 && quote < lineEnd) return nextSlowRecord(buf, p, final);
  if ((nl < 0 && !final) || (nl < 0 && lineEnd <= p)) return null;
  const end = lineEnd > p && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  return { fields: buf.toString('utf8', p, end).split(','), bytes: (nl < 0 ? lineEnd : nl + 1) - p };
}

/**
 * The record at buf[p…] through the string parser (records with quotes):
 * its fields and its length in bytes, or null when the buffer ends first (unless `final`).
 * The byte scan finds where the record ends by the parser's own rules (a quote opens a field
 * only at its start; a doubled quote inside is a quote; a CR or LF outside quotes ends the
 * record), so the parser sees exactly the record's text.
 */
function nextSlowRecord(buf: Buffer, p: number, final: boolean): { fields: string[]; bytes: number } | null {
  const n = buf.length;
  let i = p;
  let fieldStart = true;
  let stop = -1;
  while (i < n && stop < 0) {
    const c = buf[i];
    if (fieldStart && c === QUOTE) {
      let closed = false;
      for (let q = buf.indexOf(QUOTE, i + 1); q >= 0; q = buf.indexOf(QUOTE, q + 2)) {
        if (q + 1 >= n) break; // an escape or the closing quote: the next byte says
        if (buf[q + 1] !== QUOTE) {
          i = q + 1;
          closed = true;
          break;
        }
      }
      if (!closed) break; // the field goes on past the buffer
      fieldStart = false;
      continue;
    }
    if (c === COMMA) fieldStart = true;
    else if (c === LF) stop = i + 1;
    else if (c === CR) {
      if (i + 1 >= n) break;
      stop = buf[i + 1] === LF ? i + 2 : i + 1;
    } else fieldStart = false;
    i++;
  }
  if (stop < 0) {
    if (!final) return null;
    stop = n;
  }
  if (stop <= p) return null;
  const text = buf.toString('utf8', p, stop);
  const parsed = parseRecord(text, 0, true)!;
  return { fields: parsed.fields, bytes: parsed.next >= text.length ? stop - p : Buffer.byteLength(text.slice(0, parsed.next)) };
}
