import { CsvError, endsLinesInCrAlone, lineFeedsFor, PANDAS_NA_VALUES, readRecords } from '../common/csv';
import type { TensorSpec } from '../registry/artifact/artifact.types';
import { invalidUtf8 } from './json-body';
import type { MlflowInput } from './mlflow-payload';
import { invalidRequest } from './serving.error';
import { MAX_ELEMENTS } from './tensor-codec';

/** A `text/csv` body as the invocations route receives it (the only route that takes one: transport-errors.ts). */
export class CsvBody {
  constructor(readonly bytes: Buffer) {}
}

/**
 * A `text/csv` body of MLflow's scoring protocol (what `pandas.DataFrame.to_csv()` writes): a
 * header row of column names, then one record per row, read as a data frame. The cells stay text
 * here: which type each one becomes depends on the input it feeds (`typeCsvCells`), as
 * `mlflow models serve` reads a CSV with the signature's column types.
 */
export function parseMlflowCsv(bytes: Buffer): Extract<MlflowInput, { kind: 'dataframe' }> {
  const notUtf8 = invalidUtf8(bytes);
  if (notUtf8) throw notUtf8;
  const records = csvRecordsOf(bytes.toString('utf8'));
  if (!records.length) throw invalidRequest('The CSV body is empty: send a header row of column names, then one row per prediction', { field: 'body' });
  const [header, ...rows] = records;
  // pandas names a column without a header `Unnamed: <position>` (the index column `to_csv()` writes first).
  const columns = header.map((name, i) => (name === '' ? `Unnamed: ${i}` : name));
  rows.forEach((row, i) => {
    if (row.length > columns.length) {
      throw invalidRequest(`CSV row ${i + 1} has ${row.length} fields for the header's ${columns.length} columns`, { field: 'body', row: i + 1, fields: row.length, columns: columns.length });
    }
  });
  // An empty field, or one missing from a short row, is a missing value, as pandas reads it.
  return { kind: 'dataframe', columns, rows: rows.map((row) => columns.map((_, c) => (row[c] === undefined || row[c] === '' ? null : row[c]))), text: true };
}

/**
 * Every record of a whole CSV text (RFC 4180, the batch reader's parser); blank lines are skipped,
 * as pandas does. A text whose lines end in a carriage return alone (classic Mac OS, some
 * spreadsheet exports) has them read as line ends, as pandas reads them.
 */
function csvRecordsOf(csv: string): string[][] {
  const unmarked = csv.charCodeAt(0) === 0xfeff ? csv.slice(1) : csv;
  const text = endsLinesInCrAlone(unmarked) ? lineFeedsFor(unmarked) : unmarked;
  const records: string[][] = [];
  let cells = 0;
  try {
    readRecords(text, true, (fields) => {
      // The same bound as a JSON request's tensors: a body of short fields would otherwise take gigabytes as strings.
      cells += fields.length;
      if (cells > MAX_ELEMENTS) throw invalidRequest(`The CSV body has more than ${MAX_ELEMENTS} values: send fewer rows per request (or run a batch job)`, { field: 'body', limit: MAX_ELEMENTS });
      records.push(fields);
    });
  } catch (error) {
    if (error instanceof CsvError) throw invalidRequest(`The CSV body cannot be read at record ${records.length + 1}: ${error.message}`, { field: 'body', record: records.length + 1 });
    throw error;
  }
  return records;
}

const DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const INTEGER = /^\s*([+-]?)(\d+)\s*$/;

/**
 * A CSV cell as the input it feeds takes it: a number for a numeric input (a 64-bit integer as
 * its exact decimal text), true/false for a boolean one, the text itself for a string one. A
 * cell that is none of these stays text, which the input's check then refuses, naming the input.
 */
function cellReader(type: string): (cell: string) => unknown {
  switch (type) {
    case 'float32':
    case 'float64':
      return (cell) => (PANDAS_NA_VALUES.has(cell.trim()) ? null : DECIMAL.test(cell) ? Number(cell) : cell);
    case 'int64':
    case 'uint64':
      return (cell) => {
        const integer = INTEGER.exec(cell);
        if (integer) return `${integer[1] === '-' ? '-' : ''}${integer[2]}`;
        return DECIMAL.test(cell) ? Number(cell) : cell;
      };
    case 'bool':
      return (cell) => (/^(true|True|TRUE)$/.test(cell) ? true : /^(false|False|FALSE)$/.test(cell) ? false : cell);
    case 'string':
      return (cell) => cell;
    default:
      return (cell) => (DECIMAL.test(cell) ? Number(cell) : cell);
  }
}

/** The inputs taken from a CSV data frame, their text cells read as each input's type. */
export function typeCsvCells(inputs: Record<string, unknown>, specs: readonly TensorSpec[]): Record<string, unknown> {
  const typed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(inputs)) {
    const spec = specs.find((s) => s.name === name);
    typed[name] = spec ? mapCells(value, cellReader(spec.type)) : value;
  }
  return typed;
}

function mapCells(value: unknown, read: (cell: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => mapCells(v, read));
  return typeof value === 'string' ? read(value) : value;
}
