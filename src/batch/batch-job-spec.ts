import { invalidJob } from './batch.error';

export type DataFormat = 'csv' | 'jsonl' | 'parquet';
export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'jsonl', 'parquet'];

/**
 * How rows find their model. `tags` narrows the candidates to models carrying all of them (a
 * nightly run over every model tagged family=demand): by segment, the most specific matching
 * model among those; by model, a row naming a model without them is refused.
 */
export type RouteSpec = ({ by: 'model'; column: string } | { by: 'segment'; columns: string[] }) & { tags?: Record<string, string> };

/** A batch job as submitted (API.md "Batch inference"), with defaults filled in. */
export interface BatchJobSpec {
  input: { uri: string; format: DataFormat };
  route: RouteSpec;
  features: string[];
  passthrough: string[];
  output: { format: DataFormat };
  /** Rows per inference call. */
  miniBatchSize: number;
  /** Partitions of this job in flight at once, across every worker process. */
  maxConcurrency: number;
  /** Failed rows tolerated before the job fails; -1 = any number. */
  errorThreshold: number;
  /** Times a failing partition is tried again before it counts as failed. */
  maxRetries: number;
}

export const JOB_DEFAULTS = { miniBatchSize: 1000, maxConcurrency: 32, errorThreshold: -1, maxRetries: 3 } as const;

const JOB_FIELDS = new Set(['input', 'route', 'features', 'passthrough', 'output', 'miniBatchSize', 'maxConcurrency', 'errorThreshold', 'maxRetries']);
const COLUMN = /^[^\0\r\n]{1,256}$/;
const MAX_COLUMNS = 4096;

/**
 * Reads a job body by hand: `route` is a union, and a precise message naming the field helps
 * more than a generic validation error. Throws INVALID_BATCH_JOB (400).
 */
export function parseJobSpec(body: unknown, where = ''): BatchJobSpec {
  // `where` is a field path prefix ('job.'): the object itself is named without the dot.
  const obj = object(body, where ? where.replace(/\.$/, '') : 'The request body');
  for (const key of Object.keys(obj)) if (!JOB_FIELDS.has(key)) throw invalidJob(`Unknown field '${where}${key}'`, `${where}${key}`);
  const input = object(obj.input, `${where}input`);
  for (const key of Object.keys(input)) if (key !== 'uri' && key !== 'format') throw invalidJob(`Unknown field '${where}input.${key}'`, `${where}input.${key}`);
  if (typeof input.uri !== 'string' || input.uri.length === 0 || input.uri.length > 1024) {
    throw invalidJob(`${where}input.uri must be a path relative to the data directory`, `${where}input.uri`);
  }
  if (input.format === undefined && formatFromName(input.uri) === undefined) {
    throw invalidJob(
      `${where}input.format is needed: '${input.uri.slice(0, 200)}' does not end in .csv, .jsonl, .ndjson or .parquet (give "format": one of ${DATA_FORMATS.join(', ')})`,
      `${where}input.format`,
    );
  }
  const inputFormat = format(input.format ?? formatFromName(input.uri), `${where}input.format`);
  const output = obj.output === undefined ? {} : object(obj.output, `${where}output`);
  for (const key of Object.keys(output)) if (key !== 'format') throw invalidJob(`Unknown field '${where}output.${key}'`, `${where}output.${key}`);
  const outputFormat = format(output.format ?? inputFormat, `${where}output.format`);
  const route = parseRoute(obj.route, `${where}route`);
  const features = columns(obj.features, `${where}features`, 1);
  const passthrough = obj.passthrough === undefined ? [] : columns(obj.passthrough, `${where}passthrough`, 0);
  const reserved = passthrough.find((c) => c === 'model' || c === 'version');
  if (reserved) throw invalidJob(`${where}passthrough cannot contain '${reserved}': the output has its own model and version columns`, `${where}passthrough`);
  return {
    input: { uri: input.uri, format: inputFormat },
    route,
    features,
    passthrough,
    output: { format: outputFormat },
    miniBatchSize: integer(obj.miniBatchSize, `${where}miniBatchSize`, JOB_DEFAULTS.miniBatchSize, 1, 1_000_000),
    maxConcurrency: integer(obj.maxConcurrency, `${where}maxConcurrency`, JOB_DEFAULTS.maxConcurrency, 1, 1024),
    errorThreshold: integer(obj.errorThreshold, `${where}errorThreshold`, JOB_DEFAULTS.errorThreshold, -1, Number.MAX_SAFE_INTEGER),
    maxRetries: integer(obj.maxRetries, `${where}maxRetries`, JOB_DEFAULTS.maxRetries, 0, 100),
  };
}

function parseRoute(value: unknown, field: string): RouteSpec {
  const route = object(value, field);
  const tags = route.tags === undefined ? {} : { tags: labels(route.tags, `${field}.tags`) };
  if (route.by === 'model') {
    for (const key of Object.keys(route)) if (key !== 'by' && key !== 'column' && key !== 'tags') throw invalidJob(`Unknown field '${field}.${key}'`, `${field}.${key}`);
    const column = route.column ?? 'model';
    if (typeof column !== 'string' || !COLUMN.test(column)) throw invalidJob(`${field}.column must name the input column holding the model name`, `${field}.column`);
    return { by: 'model', column, ...tags };
  }
  if (route.by === 'segment') {
    for (const key of Object.keys(route)) if (key !== 'by' && key !== 'columns' && key !== 'tags') throw invalidJob(`Unknown field '${field}.${key}'`, `${field}.${key}`);
    return { by: 'segment', columns: columns(route.columns, `${field}.columns`, 1, 64), ...tags };
  }
  throw invalidJob(`${field} must be {"by": "model", "column": "model"} or {"by": "segment", "columns": ["region", "store"]}`, `${field}.by`);
}

/** `{"family": "demand"}`: string values, at most 32 keys. */
function labels(value: unknown, field: string): Record<string, string> {
  const obj = object(value, field);
  const entries = Object.entries(obj);
  if (entries.length > 32 || entries.some(([k, v]) => typeof v !== 'string' || !k || k.length > 256 || v.length > 256)) {
    throw invalidJob(`${field} must be an object of at most 32 tags with string values, such as {"family": "demand"}`, field);
  }
  return obj as Record<string, string>;
}

function formatFromName(uri: string): unknown {
  const ext = uri.toLowerCase().match(/\.(csv|jsonl|ndjson|parquet)$/)?.[1];
  return ext === 'ndjson' ? 'jsonl' : ext;
}

function format(value: unknown, field: string): DataFormat {
  if (typeof value !== 'string' || !DATA_FORMATS.includes(value as DataFormat)) throw invalidJob(`${field} must be one of ${DATA_FORMATS.join(', ')}`, field);
  return value as DataFormat;
}

function columns(value: unknown, field: string, min: number, max = MAX_COLUMNS): string[] {
  if (!Array.isArray(value) || value.length < min || value.length > max) {
    throw invalidJob(`${field} must be an array of ${min}–${max} column names`, field);
  }
  const seen = new Set<string>();
  for (const c of value) {
    if (typeof c !== 'string' || !COLUMN.test(c)) throw invalidJob(`${field} must hold column names (1–256 characters, no line breaks)`, field);
    if (seen.has(c)) throw invalidJob(`${field} names '${c}' twice`, field);
    seen.add(c);
  }
  return value as string[];
}

function integer(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalidJob(`${field} must be an integer from ${min} to ${max}`, field);
  return value;
}

export function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidJob(`${what} must be a JSON object`, what === 'The request body' ? undefined : what);
  return value as Record<string, unknown>;
}

/** The placeholders a schedule fills in; see {@link expandUri}. */
const URI_PLACEHOLDERS = new Set(['date', 'yesterday']);

/**
 * Refuses a scheduled job's input URI with a `{name}` that is no placeholder: it would stay in
 * the path as written, so a typo (`{today}`, `{ds}`) would fail every firing with a missing file.
 */
export function checkUriPlaceholders(uri: string, field: string): void {
  for (const [written, name] of uri.matchAll(/\{([^{}/\\]*)\}/g)) {
    if (!URI_PLACEHOLDERS.has(name)) throw invalidJob(`${field} has '${written.slice(0, 100)}', which is no placeholder: a schedule fills in {date} and {yesterday} only`, field);
  }
}

/** `{date}` in a scheduled job's input URI becomes the firing day (UTC, YYYY-MM-DD). */
export function expandUri(uri: string, firedAt: Date): string {
  const day = firedAt.toISOString().slice(0, 10);
  const yesterday = new Date(firedAt.getTime() - 86_400_000).toISOString().slice(0, 10);
  return uri.replace(/\{date\}/g, day).replace(/\{yesterday\}/g, yesterday);
}
