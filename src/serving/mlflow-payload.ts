import type { TensorSpec } from '../registry/artifact/artifact.types';
import { asObject, ModelSelector, parseSelector } from './predict-request';
import { typeCsvCells } from './mlflow-csv';
import { nameList, namesDetail, sentName } from './name-list';
import { invalidInput, invalidRequest } from './serving.error';
import { decodeInputs, formatShape, HostTensor } from './tensor-codec';

/**
 * The request and response shapes of `mlflow models serve` for an ONNX pyfunc model:
 * `dataframe_split` and `dataframe_records` are data frames (answered as one record per row),
 * `instances` and `inputs` are tensors (answered as a dict of output arrays).
 */
export type MlflowInput =
  /** `text`: the cells are a CSV body's text, typed by the input each one feeds (mlflow-csv.ts). */
  | { kind: 'dataframe'; columns: Array<string | null>; rows: unknown[][]; text?: boolean }
  | { kind: 'tensor'; field: 'instances' | 'inputs'; value: unknown };

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

export function parseMlflowPayload(body: unknown): MlflowInput {
  const obj = asObject(body, 'The request body');
  const present = FORMATS.filter((f) => obj[f] !== undefined);
  // Beside a format, other fields are left out, as MLflow's scoring server does; without one, the first says what was sent instead.
  const unknown = Object.keys(obj).find((key) => !(FORMATS as readonly string[]).includes(key) && key !== 'params');
  if (!present.length && unknown !== undefined) {
    throw invalidRequest(`Unknown field '${unknown}': send one of ${FORMATS.join(', ')} (and optionally params)`, { field: unknown });
  }
  if (present.length !== 1) {
    throw invalidRequest(`Send exactly one of ${FORMATS.join(', ')}`, { field: present.length ? present.join(',') : 'dataframe_split', accepted: FORMATS });
  }
  const format = present[0];
  if (format === 'dataframe_split') return fromSplit(obj.dataframe_split);
  if (format === 'dataframe_records') return fromRecords(obj.dataframe_records);
  return { kind: 'tensor', field: format, value: obj[format] };
}

function fromSplit(value: unknown): MlflowInput {
  const split = asObject(value, 'dataframe_split');
  const data = isOneColumnData(split.data, split.columns) ? split.data.map((v) => [v]) : split.data;
  if (!Array.isArray(data) || !data.every(Array.isArray)) throw invalidRequest('dataframe_split.data must be an array of rows (arrays), or of values for a frame of one column', { field: 'dataframe_split.data' });
  const width = data.length ? (data[0] as unknown[]).length : 0;
  let columns: Array<string | null>;
  if (split.columns === undefined || split.columns === null) columns = Array.from({ length: width }, () => null);
  else if (Array.isArray(split.columns) && split.columns.every((c) => typeof c === 'string')) columns = split.columns as string[];
  // Integer labels are what pandas gives a frame built without names (to_dict('split') of a numpy-built frame): unnamed, positional.
  else if (Array.isArray(split.columns) && split.columns.every((c) => Number.isInteger(c))) columns = split.columns.map(() => null);
  else throw invalidRequest('dataframe_split.columns must be an array of column names (or of integer labels, taken as unnamed columns)', { field: 'dataframe_split.columns' });
  for (const [i, row] of (data as unknown[][]).entries()) {
    if (row.length !== columns.length) {
      throw invalidRequest(`dataframe_split.data[${i}] has ${row.length} values for ${columns.length} columns`, { field: 'dataframe_split.data' });
    }
  }
  // pandas refuses a frame whose index does not label every row once: a sign the rows are not the ones meant.
  if (split.index !== undefined && split.index !== null && (!Array.isArray(split.index) || split.index.length !== data.length)) {
    const got = Array.isArray(split.index) ? `${split.index.length} labels` : 'not an array';
    throw invalidRequest(`dataframe_split.index must label each of the ${data.length} rows once: it is ${got}`, { field: 'dataframe_split.index' });
  }
  return { kind: 'dataframe', columns, rows: data as unknown[][] };
}

/**
 * `data` as a flat list of values is the rows of a frame of one column, as pandas builds it
 * (`pd.DataFrame(columns=["price"], data=[3.5, 4.0])` has two rows): with one column named, or none.
 */
function isOneColumnData(data: unknown, columns: unknown): data is unknown[] {
  const oneColumn = columns === undefined || columns === null || (Array.isArray(columns) && columns.length === 1);
  return oneColumn && Array.isArray(data) && data.length > 0 && data.every((v) => v === null || typeof v !== 'object');
}

function fromRecords(value: unknown): MlflowInput {
  if (!Array.isArray(value)) throw invalidRequest('dataframe_records must be an array of records (objects)', { field: 'dataframe_records' });
  const columns: string[] = [];
  const index = new Map<string, number>();
  const records = value.map((r) => asObject(r, 'dataframe_records[]'));
  for (const record of records) {
    for (const key of Object.keys(record)) {
      if (!index.has(key)) {
        index.set(key, columns.length);
        columns.push(key);
      }
    }
  }
  // A key missing from a record is a missing value, as pandas reads it. Own keys only: a record
  // without a column named `constructor` or `toString` would otherwise read Object.prototype's.
  const rows = records.map((record) => columns.map((c) => (Object.hasOwn(record, c) && record[c] !== undefined ? record[c] : null)));
  return { kind: 'dataframe', columns, rows };
}

/** The invocations route's query string: `version` or `alias` pick the version (as in a /v1/predict body). */
export function parseMlflowQuery(query: Record<string, unknown> | undefined): Pick<ModelSelector, 'version' | 'alias'> {
  // Other parameters (a cache-buster, a gateway's own) were always ignored here, and still are.
  const { version, alias } = query ?? {};
  return parseSelector({ version, alias }, { requireTarget: false });
}

/** Column names of an MLflow column-based signature (`[{"name": "price", "type": "double"}, …]`), if the version has one. */
export function mlflowColumnNames(mlflow: Record<string, unknown> | null): string[] | null {
  const inputs = (mlflow?.signature as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs) || !inputs.length) return null;
  const names = inputs.map((i) => (i && typeof i === 'object' && (i as { type?: unknown }).type !== 'tensor' ? (i as { name?: unknown }).name : undefined));
  return names.every((n): n is string => typeof n === 'string') ? names : null;
}

/**
 * Whether an MLflow model's signature is tensor-based (`[{"type": "tensor", "tensor-spec": …}]`).
 * MLflow's schema enforcement turns a data frame sent to such a model into its tensors (a numpy
 * array, or a dict of them by input name), so the ONNX flavor answers it as a dict of output
 * arrays, not as one record per row.
 */
export function hasMlflowTensorSignature(mlflow: Record<string, unknown> | null): boolean {
  const inputs = (mlflow?.signature as { inputs?: unknown } | undefined)?.inputs;
  return Array.isArray(inputs) && inputs.length > 0 && inputs.every((i) => i !== null && typeof i === 'object' && (i as { type?: unknown }).type === 'tensor');
}

/**
 * `instances`/`inputs` sent to a model with a column-based signature, keyed by its columns
 * (records, or a dict of column arrays), is a data frame: MLflow's scoring server builds a
 * DataFrame from them for such a signature, also when the columns are the ONNX inputs' own
 * names (skl2onnx's one [N, 1] input per column); so is a list of values for a signature of one
 * column. Keyed by ONNX input names that are not its columns, it stays a tensor.
 */
export function asSignatureFrame(input: MlflowInput, specs: readonly TensorSpec[], columnNames: string[] | null): MlflowInput {
  if (input.kind !== 'tensor' || !columnNames) return input;
  const value = input.value;
  const keyedByInputs = (keys: string[]) => keys.every((k) => specs.some((s) => s.name === k)) && !keys.every((k) => columnNames.includes(k));
  if (isRecordList(value)) {
    return keyedByInputs([...new Set(value.flatMap((r) => Object.keys(r)))]) ? input : fromRecords(value);
  }
  // A list of values for a signature of one column is that column, as MLflow reads it (`{"inputs": [1, 2]}` is `{"inputs": {"v": [1, 2]}}`).
  if (columnNames.length === 1 && Array.isArray(value) && value.length && value.every((v) => v === null || typeof v !== 'object')) {
    return { kind: 'dataframe', columns: columnNames, rows: value.map((v) => [v]) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return input;
  const dict = value as Record<string, unknown>;
  const columns = Object.keys(dict);
  if (!columns.length || keyedByInputs(columns)) return input;
  const cells = columns.map((c) => dict[c]);
  // All scalars is one row, as MLflow reads a dict of scalars.
  if (cells.every((v) => !Array.isArray(v))) return { kind: 'dataframe', columns, rows: [cells] };
  const length = (cells.find(Array.isArray) as unknown[]).length;
  const uneven = columns.find((_, i) => !Array.isArray(cells[i]) || (cells[i] as unknown[]).length !== length);
  if (uneven !== undefined) {
    throw invalidRequest(`${input.field}.${uneven} must be an array of ${length} values, like every column of the dict (or send one scalar per column for one row)`, { field: `${input.field}.${uneven}` });
  }
  return { kind: 'dataframe', columns, rows: Array.from({ length }, (_, r) => cells.map((c) => (c as unknown[])[r])) };
}

/**
 * The model's inputs by name, as nested arrays. A data frame whose columns are exactly the
 * model's inputs (each once, any order) gives one column per input. Otherwise a single-input
 * model takes the columns as its feature matrix: in the signature's column order when the
 * MLmodel names them, else in the order sent (as MLflow's ONNX flavor feeds `data.values`); a
 * multi-input model takes unnamed columns in input order.
 */
export function mlflowInputs(input: MlflowInput, specs: readonly TensorSpec[], columnNames: string[] | null): Record<string, unknown> {
  return input.kind === 'dataframe' ? frameInputs(input, specs, columnNames) : tensorInputs(input.field, input.value, specs);
}

function frameInputs(frame: { columns: Array<string | null>; rows: unknown[][] }, specs: readonly TensorSpec[], columnNames: string[] | null): Record<string, unknown> {
  if (!frame.rows.length) throw invalidRequest('The data frame has no rows: send at least one', { field: 'data' });
  const position = columnPositions(frame.columns);
  // A single input named by its only column holds each row's tensor; several inputs are picked by
  // name from the frame, other columns ignored (as MLflow's ONNX flavor reads data[name]).
  const namesInputs = specs.every((s) => position.has(s.name)) && (specs.length > 1 || position.size === 1);
  // A signature whose one column is the input itself reads that column as above (a tensor per row
  // still fits); other signatures name the input's features.
  const signatureIsInput = columnNames?.length === 1 && columnNames[0] === specs[0]?.name;
  if (specs.length === 1 && columnNames && !(namesInputs && signatureIsInput)) return { [specs[0].name]: signatureMatrix(frame.rows, position, specs[0], columnNames) };
  if (namesInputs) return oneColumnPerInput(frame.rows, specs, (spec) => position.get(spec.name)!);
  // One column whose cells are arrays holds each row's tensor, whatever its name, as MLflow reads
  // a one-column frame for a tensor signature (_enforce_tensor_schema): cells cannot be features.
  if (specs.length === 1 && frame.columns.length === 1 && frame.rows.every((r) => Array.isArray(r[0]))) return oneColumnPerInput(frame.rows, specs, () => 0);
  if (specs.length === 1) return { [specs[0].name]: featureMatrix(frame, specs[0]) };
  const names = specs.map((s) => s.name);
  if (position.size) {
    // MLflow's ONNX flavor reads a multi-input model's columns by name: a near miss is a mistake, not an order.
    const missing = names.filter((n) => !position.has(n));
    const unknown = [...position.keys()].filter((c) => !names.includes(c)).map(sentName);
    const problems = [missing.length ? `missing ${quoted(missing)}` : '', unknown.length ? `unknown ${quoted(unknown)}` : ''].filter(Boolean).join(', ');
    throw invalidInput(`This model takes one column per input, named ${nameList(names)} (or unnamed, in that order): ${problems}`, {
      ...namesDetail('expected', names),
      ...namesDetail('missing', missing),
      ...namesDetail('unknown', unknown),
    });
  }
  if (frame.columns.length !== specs.length) {
    throw invalidInput(`This model has ${specs.length} inputs (${nameList(names)}): send one column per input, got ${frame.columns.length} columns`, namesDetail('expected', names));
  }
  return oneColumnPerInput(frame.rows, specs, (_, i) => i);
}

/** Column name → position; a name given twice is refused, as it cannot say which one is meant. */
function columnPositions(columns: Array<string | null>): Map<string, number> {
  const position = new Map<string, number>();
  columns.forEach((c, i) => {
    if (c === null) return;
    if (position.has(c)) throw invalidRequest(`Column '${sentName(c)}' appears more than once: each column name must be unique`, { field: 'columns', column: sentName(c) });
    position.set(c, i);
  });
  return position;
}

function oneColumnPerInput(rows: unknown[][], specs: readonly TensorSpec[], at: (spec: TensorSpec, i: number) => number): Record<string, unknown> {
  // Own properties (fromEntries), never assignments: `inputs['__proto__'] = …` would set the prototype, losing an input of that name.
  return Object.fromEntries(
    specs.map((spec, i) => {
      const values = rows.map((r) => r[at(spec, i)]);
      // A scalar per row feeds a rank-2 input as a one-value row ([N, 1]); anything else is refused by its shape check.
      return [spec.name, spec.shape.length === 2 ? values.map((v) => (Array.isArray(v) ? v : [v])) : values];
    }),
  );
}

function signatureMatrix(rows: unknown[][], position: Map<string, number>, spec: TensorSpec, columnNames: string[]): unknown[] {
  const order = columnNames.map((name) => {
    const at = position.get(name);
    if (at === undefined) {
      throw invalidInput(`Missing column '${name}': the model's signature has columns ${nameList(columnNames)}`, { input: spec.name, column: name, ...namesDetail('expected', columnNames) });
    }
    return at;
  });
  return matrixOf(rows, order, spec);
}

/** Every column, in the order sent, as the input's feature matrix; the count must fit its shape. */
function featureMatrix(frame: { columns: Array<string | null>; rows: unknown[][] }, spec: TensorSpec): unknown[] {
  const width = spec.shape.length === 1 ? 1 : spec.shape.length === 2 && typeof spec.shape[1] === 'number' ? spec.shape[1] : undefined;
  const count = frame.columns.length;
  if (width !== undefined && count !== width) {
    const named = frame.columns.some((c) => c !== null) ? ` (${nameList(frame.columns.map((c) => (c === null ? '?' : sentName(c))))})` : '';
    // `to_csv()` writes the frame's index as a first column without a name, which pandas reads back as 'Unnamed: 0'.
    const index = frame.columns.includes('Unnamed: 0') ? "; 'Unnamed: 0' is the index pandas writes: leave it out with to_csv(index=False)" : '';
    throw invalidInput(`Input '${spec.name}' (shape ${formatShape(spec.shape)}) takes ${width} column${width === 1 ? '' : 's'} in order, the data frame has ${count}${named}${index}`, {
      input: spec.name,
      expected: { columns: width },
      columns: count,
    });
  }
  return matrixOf(
    frame.rows,
    frame.columns.map((_, i) => i),
    spec,
  );
}

function matrixOf(rows: unknown[][], order: number[], spec: TensorSpec): unknown[] {
  const matrix = rows.map((r) => order.map((i) => r[i]));
  return spec.shape.length === 1 && order.length === 1 ? matrix.map((r) => r[0]) : matrix;
}

function tensorInputs(field: string, value: unknown, specs: readonly TensorSpec[]): Record<string, unknown> {
  if (Array.isArray(value)) {
    // `instances` as a list of {input: value} records: stack each input's values.
    if (isRecordList(value)) return stackRecords(field, value);
    if (!specs.length) throw invalidInput('This model takes no inputs: send {"inputs": {}}', { expected: [] });
    if (specs.length !== 1) {
      throw invalidInput(`This model has ${specs.length} inputs (${nameList(specs.map((s) => s.name))}): send them by name`, namesDetail('expected', specs.map((s) => s.name)));
    }
    return { [specs[0].name]: value };
  }
  // A bare value in `inputs` is a single input's whole tensor (MLflow reads `{"inputs": 3}` as
  // np.array(3)): a scalar input takes it, any other says the shape it expects. (`instances` is a list.)
  if (field === 'inputs' && specs.length === 1 && (value === null || typeof value !== 'object')) return { [specs[0].name]: value };
  return asObject(value, field);
}

/** Records of tensors keyed by input name, stacked per input; every record names the same inputs. */
function stackRecords(field: string, records: Array<Record<string, unknown>>): Record<string, unknown> {
  const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
  for (const [i, record] of records.entries()) {
    const absent = names.find((n) => !Object.hasOwn(record, n));
    if (absent !== undefined) throw invalidInput(`${field}[${i}] has no '${sentName(absent)}': every record must give every input`, { input: sentName(absent), at: `[${i}]` });
  }
  // Unknown and missing names are then refused by the signature check, as for a dict of inputs.
  return Object.fromEntries(names.map((n) => [n, records.map((r) => r[n])]));
}

function isRecordList(value: unknown): value is Array<Record<string, unknown>> {
  return Array.isArray(value) && value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
}

function quoted(names: string[]): string {
  return nameList(names, { quote: true });
}

/**
 * The payload decoded against the resolved version's signature (and its MLflow column names):
 * the input tensors, and the data frame's row count when it was read as one (null for tensors),
 * which says whether the answer can be records (mlflow-answer.ts).
 */
export function decodeMlflowInputs(sent: MlflowInput, specs: readonly TensorSpec[], columnNames: string[] | null): { tensors: HostTensor[]; frameRows: number | null } {
  const payload = asSignatureFrame(sent, specs, columnNames);
  const taken = mlflowInputs(payload, specs, columnNames);
  const inputs = payload.kind === 'dataframe' && payload.text ? typeCsvCells(taken, specs) : taken;
  const frameRows = payload.kind === 'dataframe' ? payload.rows.length : null;
  // Data frames carry missing values as null: NaN for float inputs, as pandas would.
  return { tensors: decodeInputs(specs, inputs, { nullAsNaN: frameRows !== null }), frameRows };
}
