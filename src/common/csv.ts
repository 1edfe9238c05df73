/**
 * A streaming RFC 4180 CSV reader: quoted fields with doubled quotes, commas and line breaks
 * inside quotes, CRLF or LF, a leading BOM. Lines without a quote take a fast path (split on
 * commas), which is what batch inputs almost always are. Records come out in batches so a
 * 5 GB file is read with one chunk (64 KiB) and one batch of records in memory.
 */
export async function* csvRecords(chunks: AsyncIterable<string | Buffer>, batchSize = 1024): AsyncGenerator<string[][]> {
  let carry = '';
  let first = true;
  const records: string[][] = [];
  for await (const raw of chunks) {
    let text = carry + (typeof raw === 'string' ? raw : raw.toString('utf8'));
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    carry = text.slice(readRecords(text, false, (fields) => records.push(fields)));
    while (records.length >= batchSize) yield records.splice(0, batchSize);
  }
  // What is left may still be several records (a lone CR ends a record that has quotes).
  readRecords(carry, true, (fields) => records.push(fields));
  while (records.length) yield records.splice(0, batchSize);
}

/**
 * Reads the records of `text` from its start, blank lines skipped, handing each to `take`: those
 * that end before the text does, or all of them when it is `final`. Answers where the rest
 * begins. The next quote and LF are searched for once they are passed, not once per record,
 * which would scan to the end of the text for every line (of a quote-free file, say).
 */
export function readRecords(text: string, final: boolean, take: (fields: string[]) => void): number {
  let pos = 0;
  let quote = -1;
  let nl = -1;
  while (pos < text.length) {
    if (quote < pos) quote = indexOrEnd(text, '"', pos);
    if (nl < pos) nl = indexOrEnd(text, '\n', pos);
    const parsed = parseRecord(text, pos, final, quote, nl === text.length ? -1 : nl);
    if (!parsed) break;
    pos = parsed.next;
    if (!(parsed.fields.length === 1 && parsed.fields[0] === '')) take(parsed.fields);
  }
  return pos;
}

/**
 * One record from `pos`, or null when the text ends before the record does (unless `final`).
 * `quote` is the position of the first quote at or after `pos` (text.length when none), `nl` that
 * of the first LF (-1 when none): a caller reading record after record searches for them once.
 */
export function parseRecord(text: string, pos: number, final: boolean, quote = indexOrEnd(text, '"', pos), nl = text.indexOf('\n', pos)): { fields: string[]; next: number } | null {
  if (nl < 0 && !final) return null;
  const lineEnd = nl < 0 ? text.length : nl;
  if (quote >= lineEnd) {
    const end = lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
    return { fields: text.slice(pos, end).split(','), next: nl < 0 ? text.length : nl + 1 };
  }
  // Slow path: a quote somewhere in the record.
  const fields: string[] = [];
  let i = pos;
  let field = '';
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      // quoted field
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          if (!final) return null;
          throw new CsvError('unterminated quoted field');
        }
        field += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          field += '"';
          i = q + 2;
          continue;
        }
        if (q + 1 >= text.length && !final) return null;
        i = q + 1;
        break;
      }
      // after the closing quote: up to the delimiter (lenient: keep stray characters)
      while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
    }
    if (i >= text.length) {
      if (!final) return null;
      fields.push(field);
      return { fields, next: i };
    }
    const c = text[i];
    if (c === ',') {
      fields.push(field);
      field = '';
      i++;
      continue;
    }
    if (c === '\r') {
      if (i + 1 >= text.length && !final) return null;
      if (text[i + 1] === '\n') i++;
    }
    fields.push(field);
    return { fields, next: i + 1 };
  }
}

/** Where `search` next stands at or after `from`; text.length when nowhere. */
function indexOrEnd(text: string, search: string, from: number): number {
  const at = text.indexOf(search, from);
  return at < 0 ? text.length : at;
}

export class CsvError extends Error {}

/**
 * The cells pandas reads as a missing value (its default `na_values`): what R (`NA`), SQL
 * exports (`NULL`) and pandas itself write for one. A float input takes them as NaN.
 */
export const PANDAS_NA_VALUES: ReadonlySet<string> = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/**
 * A CSV file's chunks, with LF in place of CR where its lines end in a CR alone (classic Mac
 * OS; Excel's "CSV (Macintosh)"), as pandas reads such a file; other files' chunks as they are.
 * A file is taken for one of those when its first 64 KiB (or all of it, if shorter) hold a CR
 * and no LF: a lone CR in a file that has LFs stays part of its field. CR and LF are one byte
 * each, so offsets into the chunks stay what they were.
 */
export async function* withLineFeeds<T extends string | Buffer>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  const held: T[] = [];
  let heldLength = 0;
  let crOnly: boolean | undefined;
  for await (const chunk of chunks) {
    if (crOnly !== undefined) {
      yield crOnly ? lineFeedsFor(chunk) : chunk;
      continue;
    }
    held.push(chunk);
    heldLength += chunk.length;
    if (chunk.includes('\n')) crOnly = false;
    else if (heldLength >= DECIDE_WITHIN) crOnly = held.some(endsLinesInCrAlone);
    else continue;
    for (const c of held.splice(0)) yield crOnly ? lineFeedsFor(c) : c;
  }
  crOnly ??= held.some(endsLinesInCrAlone);
  for (const c of held) yield crOnly ? lineFeedsFor(c) : c;
}

const DECIDE_WITHIN = 64 * 1024;

/** A text (or the start of one) whose lines end in a CR alone: a CR in it, and no LF. */
export function endsLinesInCrAlone(text: string | Buffer): boolean {
  return text.includes('\r') && !text.includes('\n');
}

/** The text with LF in place of every CR (one byte for another). */
export function lineFeedsFor<T extends string | Buffer>(chunk: T): T {
  return (typeof chunk === 'string' ? chunk.replace(/\r/g, '\n') : (chunk as Buffer).map((b) => (b === 13 ? 10 : b))) as T;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field: quoted only when it has to be. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
