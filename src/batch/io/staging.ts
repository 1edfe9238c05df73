import * as fs from 'node:fs';
import * as readline from 'node:readline';

/**
 * A partition's staging file: one line per row, `[row number, passthrough values…, feature
 * values…]`. A line is either JSON (any input) or, for a CSV record without quotes, the row
 * number and the record's values exactly as the input had them, comma-separated — which the
 * planner copies byte for byte instead of building strings, and which means the same strings.
 */

/**
 * The JSON form of a staging line. Parquet INT64 values arrive as bigints, and JSONL and Parquet
 * numbers may be ±Infinity (`1e400`) or NaN (Parquet), which JSON cannot hold as they are:
 * JSON.stringify would write them as null, so that an infinite feature read as a missing value
 * (NaN, scored) where the row must fail as beyond the float types' range, and a passthrough
 * value came out missing. Tagged (`{"$number":"Infinity"}`) they come back as the numbers they
 * were — not as text, which would also turn a DOUBLE passthrough column into a string one.
 */
export function stagingJson(rowNo: number, values: readonly unknown[], bigint: boolean): string {
  if (bigint || values.some(isNonFinite)) return JSON.stringify([rowNo, ...values], stagingReplacer) + '\n';
  try {
    return JSON.stringify([rowNo, ...values]) + '\n';
  } catch (error) {
    // A bigint where none was expected (a JSONL integer beyond 2^53): the slower form.
    if (error instanceof TypeError) return JSON.stringify([rowNo, ...values], stagingReplacer) + '\n';
    throw error;
  }
}

/** A staging file's rows, whatever form each line has. */
export function parseStagingRows(text: string): unknown[][] {
  const tagged = text.includes('"$bigint"') || text.includes('"$number"');
  // Only JSON lines (JSONL and Parquet inputs): one parse of the whole file is much faster.
  if (text.charCodeAt(0) === 91 && !/\n[0-9]/.test(text)) {
    const trimmed = text.trimEnd();
    return trimmed ? (JSON.parse(`[${trimmed.replace(/\n/g, ',')}]`, tagged ? stagingReviver : undefined) as unknown[][]) : [];
  }
  const rows: unknown[][] = [];
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    if (nl > pos) {
      const line = text.slice(pos, nl);
      if (line.charCodeAt(0) === 91) rows.push(JSON.parse(line, tagged ? stagingReviver : undefined) as unknown[]);
      else {
        const row: unknown[] = line.split(',');
        row[0] = Number(row[0]);
        rows.push(row);
      }
    }
    pos = nl + 1;
  }
  return rows;
}

function stagingReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  return isNonFinite(value) ? { $number: String(value) } : value;
}

function isNonFinite(value: unknown): boolean {
  return typeof value === 'number' && !Number.isFinite(value);
}

/** Reads back what {@link stagingReplacer} tagged: bigints and the non-finite numbers. */
function stagingReviver(key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$number' in value) return Number((value as { $number: string }).$number);
  return bigintReviver(key, value);
}

export function bigintReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$bigint' in value) return BigInt((value as { $bigint: string }).$bigint);
  return value;
}

/** The row numbers of a staging file's first `max` rows, read without reading the rest of it. */
export async function firstRowNumbers(file: string, max: number): Promise<number[]> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  const numbers: number[] = [];
  try {
    for await (const line of lines) {
      // `[17,…` (JSON form) or `17,…` (a CSV record copied as it was).
      const match = /^\[?(\d+)/.exec(line);
      if (match) numbers.push(Number(match[1]));
      if (numbers.length >= max) break;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return numbers;
}
