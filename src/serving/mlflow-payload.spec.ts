import type { TensorSpec } from '../registry/artifact/artifact.types';
import { asSignatureFrame, decodeMlflowInputs, hasMlflowTensorSignature, mlflowColumnNames, mlflowInputs, parseMlflowPayload, parseMlflowQuery } from './mlflow-payload';

const tabular: TensorSpec[] = [{ name: 'float_input', type: 'float32', shape: ['N', 3] }];
const multi: TensorSpec[] = [
  { name: 'a', type: 'float64', shape: ['N', 2] },
  { name: 'd', type: 'bool', shape: ['N', 1] },
];

describe('MLflow scoring payloads', () => {
  it("refuses a dataframe_split whose index does not label each row once, as pandas does", () => {
    expect(() => parseMlflowPayload({ dataframe_split: { columns: ['a'], index: [0, 1], data: [[1]] } })).toThrow('dataframe_split.index must label each of the 1 rows once: it is 2 labels');
    expect(() => parseMlflowPayload({ dataframe_split: { columns: ['a'], index: 'x', data: [[1]] } })).toThrow(/it is not an array/);
    expect(parseMlflowPayload({ dataframe_split: { columns: ['a'], index: [7], data: [[1]] } })).toMatchObject({ rows: [[1]] });
  });

  it('tells a tensor-based MLflow signature from a column-based one or none', () => {
    const tensor = { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] } };
    expect(hasMlflowTensorSignature({ signature: { inputs: [tensor] } })).toBe(true);
    expect(hasMlflowTensorSignature({ signature: { inputs: [{ ...tensor, name: 'x' }] } })).toBe(true);
    expect(hasMlflowTensorSignature({ signature: { inputs: [{ type: 'double', name: 'a' }] } })).toBe(false);
    expect(hasMlflowTensorSignature({ signature: { inputs: [] } })).toBe(false);
    expect(hasMlflowTensorSignature({ signature: undefined })).toBe(false);
    expect(hasMlflowTensorSignature(null)).toBe(false);
  });

  it('takes dataframe_split columns as the feature matrix, in signature order when it names them', () => {
    const input = parseMlflowPayload({ dataframe_split: { columns: ['price', 'promo', 'dow'], data: [[3.5, 1, 4]] } });
    expect(mlflowInputs(input, tabular, null)).toEqual({ float_input: [[3.5, 1, 4]] });
    expect(mlflowInputs(input, tabular, ['dow', 'promo', 'price'])).toEqual({ float_input: [[4, 1, 3.5]] });
  });

  it('reads dataframe_records, a missing key being a missing value', () => {
    const input = parseMlflowPayload({ dataframe_records: [{ dow: 4, promo: 1, price: 3.5 }, { dow: 5, price: 2 }] });
    expect(mlflowInputs(input, tabular, null)).toEqual({ float_input: [[4, 1, 3.5], [5, null, 2]] });
  });

  it('maps columns to inputs by name for a multi-input model', () => {
    const input = parseMlflowPayload({ dataframe_split: { columns: ['a', 'd'], data: [[[1, 2], true]] } });
    expect(mlflowInputs(input, multi, null)).toEqual({ a: [[1, 2]], d: [[true]] });
    expect(mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['d', 'a'], data: [[true, [1, 2]]] } }), multi, null)).toEqual({ a: [[1, 2]], d: [[true]] });
    // Other columns beside the inputs are left out, as MLflow's ONNX flavor reads data[name].
    expect(mlflowInputs(parseMlflowPayload({ dataframe_records: [{ a: [1, 2], store_id: 'x', d: true }] }), multi, null)).toEqual({ a: [[1, 2]], d: [[true]] });
    expect(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['a'], data: [[[1, 2]]] } }), multi, null)).toThrow(/missing 'd'/);
    expect(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['a', 'e'], data: [[[1, 2], true]] } }), multi, null)).toThrow(
      "This model takes one column per input, named a, d (or unnamed, in that order): missing 'd', unknown 'e'",
    );
  });

  it('takes unnamed columns of a multi-input model in input order, one per input', () => {
    expect(mlflowInputs(parseMlflowPayload({ dataframe_split: { data: [[[1, 2], false]] } }), multi, null)).toEqual({ a: [[1, 2]], d: [[false]] });
    expect(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { data: [[[1, 2]]] } }), multi, null)).toThrow(/has 2 inputs \(a, d\): send one column per input, got 1 columns/);
  });

  it('matches columns to inputs by name only when they are exactly the inputs, else takes them in order', () => {
    const x: TensorSpec[] = [{ name: 'x', type: 'float32', shape: ['N', 3] }];
    const v: TensorSpec[] = [{ name: 'v', type: 'float32', shape: ['N'] }];
    // A column that happens to be named like the input is just the first feature.
    expect(mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['x', 'b', 'c'], data: [[1, 2, 3]] } }), x, null)).toEqual({ x: [[1, 2, 3]] });
    expect(mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['x'], data: [[[1, 2, 3]]] } }), x, null)).toEqual({ x: [[1, 2, 3]] });
    expect(mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['v'], data: [[1], [2]] } }), v, null)).toEqual({ v: [1, 2] });
    expect(mlflowInputs(parseMlflowPayload({ dataframe_records: [{ w: 1 }] }), v, null)).toEqual({ v: [1] });
    expect(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['b', 'v'], data: [[1, 2]] } }), v, null)).toThrow(
      "Input 'v' (shape [N]) takes 1 column in order, the data frame has 2 (b, v)",
    );
    expect(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] } }), x, null)).toThrow(/takes 3 columns in order, the data frame has 2/);
  });

  it("takes pandas' integer column labels (a frame built without names) as unnamed columns", () => {
    const x: TensorSpec[] = [{ name: 'x', type: 'float32', shape: ['N', 3] }];
    expect(parseMlflowPayload({ dataframe_split: { columns: [0, 1, 2], data: [[1, 2, 3]] } })).toEqual({ kind: 'dataframe', columns: [null, null, null], rows: [[1, 2, 3]] });
    expect(mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: [0, 1, 2], data: [[1, 2, 3]] } }), x, null)).toEqual({ x: [[1, 2, 3]] });
    expect(() => parseMlflowPayload({ dataframe_split: { columns: ['a', 1], data: [[1, 2]] } })).toThrow(/column names \(or of integer labels/);
  });

  it('refuses a column name given twice', () => {
    const input = parseMlflowPayload({ dataframe_split: { columns: ['dow', 'dow', 'promo', 'price'], data: [[1, 2, 3, 4]] } });
    expect(() => mlflowInputs(input, tabular, ['dow', 'promo', 'price'])).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', message: "Column 'dow' appears more than once: each column name must be unique" }));
    expect(() => mlflowInputs(input, tabular, null)).toThrow(/'dow' appears more than once/);
  });

  it('reads instances and inputs as tensors', () => {
    expect(mlflowInputs(parseMlflowPayload({ instances: [[1, 2, 3]] }), tabular, null)).toEqual({ float_input: [[1, 2, 3]] });
    expect(mlflowInputs(parseMlflowPayload({ inputs: { a: [[1, 2]], d: [[false]] } }), multi, null)).toEqual({ a: [[1, 2]], d: [[false]] });
    expect(mlflowInputs(parseMlflowPayload({ instances: [{ a: [1, 2], d: [true] }] }), multi, null)).toEqual({ a: [[1, 2]], d: [[true]] });
  });

  it('stacks every key of instance records, so that the signature check names an unknown or missing input', () => {
    expect(mlflowInputs(parseMlflowPayload({ instances: [{ foo: 1 }] }), tabular, null)).toEqual({ foo: [1] });
    expect(mlflowInputs(parseMlflowPayload({ instances: [{ float_input: [1, 2, 3], foo: 1 }] }), tabular, null)).toEqual({ float_input: [[1, 2, 3]], foo: [1] });
    expect(() => mlflowInputs(parseMlflowPayload({ inputs: [{ a: [1, 2], d: [true] }, { a: [3, 4] }] }), multi, null)).toThrow("inputs[1] has no 'd': every record must give every input");
  });

  it('reads instances and inputs keyed by the signature columns as a data frame', () => {
    const columns = ['dow', 'promo', 'price'];
    const frame = (body: object) => asSignatureFrame(parseMlflowPayload(body), tabular, columns);
    expect(frame({ instances: [{ price: 3.5, dow: 4, promo: 1 }] })).toEqual({ kind: 'dataframe', columns: ['price', 'dow', 'promo'], rows: [[3.5, 4, 1]] });
    expect(frame({ inputs: { dow: [4, 5], promo: [1, 0], price: [3.5, 2] } })).toEqual({ kind: 'dataframe', columns, rows: [[4, 1, 3.5], [5, 0, 2]] });
    expect(frame({ inputs: { dow: 4, promo: 1, price: 3.5 } })).toEqual({ kind: 'dataframe', columns, rows: [[4, 1, 3.5]] });
    expect(() => frame({ inputs: { dow: [4, 5], promo: [1], price: [3.5, 2] } })).toThrow(/inputs.promo must be an array of 2 values/);
    expect(() => frame({ inputs: { dow: 4, promo: [1], price: [3.5] } })).toThrow(/inputs.dow must be an array of 1 values/);
    // Keyed by the ONNX input, or without a column signature, they stay tensors.
    expect(frame({ inputs: { float_input: [[4, 1, 3.5]] } }).kind).toBe('tensor');
    expect(frame({ instances: [[4, 1, 3.5]] }).kind).toBe('tensor');
    expect(asSignatureFrame(parseMlflowPayload({ inputs: { dow: [4] } }), tabular, null).kind).toBe('tensor');
    expect(mlflowInputs(frame({ inputs: { price: [3.5], promo: [1], dow: [4] } }), tabular, columns)).toEqual({ float_input: [[4, 1, 3.5]] });
  });

  it("reads one column of arrays as each row's tensor, whatever the column's name", () => {
    for (const columns of [['pixels'], [null], ['float_input']]) {
      expect(mlflowInputs({ kind: 'dataframe', columns, rows: [[[1, 2, 3]], [[4, 5, 6]]] }, tabular, null)).toEqual({ float_input: [[1, 2, 3], [4, 5, 6]] });
    }
    // Scalars in one column are still the feature matrix's one column.
    expect(() => mlflowInputs({ kind: 'dataframe', columns: ['pixels'], rows: [[1], [2]] }, tabular, null)).toThrow(/takes 3 columns in order, the data frame has 1/);
  });

  it('reads a list of values sent to a signature of one column as that column, as MLflow does', () => {
    const one: TensorSpec[] = [{ name: 'v', type: 'float32', shape: ['N'] }];
    for (const field of ['inputs', 'instances']) {
      expect(asSignatureFrame(parseMlflowPayload({ [field]: [1, null, 3] }), one, ['amount'])).toEqual({ kind: 'dataframe', columns: ['amount'], rows: [[1], [null], [3]] });
    }
    // Lists of rows, and signatures of several columns, are tensors as before.
    expect(asSignatureFrame(parseMlflowPayload({ inputs: [[1], [2]] }), one, ['amount']).kind).toBe('tensor');
    expect(asSignatureFrame(parseMlflowPayload({ inputs: [1, 2] }), one, ['a', 'b']).kind).toBe('tensor');
  });

  it('reads instances and inputs keyed by signature columns that are also the ONNX inputs as a data frame, as dataframe_records', () => {
    // skl2onnx's one input per column, each [N, 1], with an MLflow signature naming the same columns.
    const perColumn: TensorSpec[] = [
      { name: 'store', type: 'string', shape: ['N', 1] },
      { name: 'x', type: 'float32', shape: ['N', 1] },
    ];
    const columns = ['store', 'x'];
    const decoded = (body: object) => {
      const { tensors, frameRows } = decodeMlflowInputs(parseMlflowPayload(body), perColumn, columns);
      return { frameRows, tensors: tensors.map((t) => ({ name: t.name, dims: t.dims, data: Array.from(t.data as ArrayLike<unknown>) })) };
    };
    const want = {
      frameRows: 2,
      tensors: [
        { name: 'store', dims: [2, 1], data: ['0042', '0007'] },
        { name: 'x', dims: [2, 1], data: [1, 2] },
      ],
    };
    expect(decoded({ dataframe_records: [{ store: '0042', x: 1 }, { store: '0007', x: 2 }] })).toEqual(want);
    expect(decoded({ instances: [{ store: '0042', x: 1 }, { x: 2, store: '0007' }] })).toEqual(want);
    expect(decoded({ inputs: { store: ['0042', '0007'], x: [1, 2] } })).toEqual(want);
    expect(decoded({ inputs: { x: 1, store: '0042' } })).toEqual({ frameRows: 1, tensors: [{ name: 'store', dims: [1, 1], data: ['0042'] }, { name: 'x', dims: [1, 1], data: [1] }] });
    // Each row's tensor in a column named as its input still fits, as in any data frame.
    expect(decoded({ inputs: { store: [['0042'], ['0007']], x: [[1], [2]] } })).toEqual(want);
    // Without a column signature, the same keys are input names: tensors.
    expect(() => decodeMlflowInputs(parseMlflowPayload({ inputs: { store: ['0042'], x: [1] } }), perColumn, null)).toThrow(/expected rank 2/);
    expect(decodeMlflowInputs(parseMlflowPayload({ inputs: { store: [['0042']], x: [[1]] } }), perColumn, null).frameRows).toBeNull();
  });

  it('reads a single input whose signature column is the input itself as that column, one value or one tensor per row', () => {
    const x: TensorSpec[] = [{ name: 'x', type: 'float32', shape: ['N', 1] }];
    for (const body of [{ inputs: { x: [1, 2] } }, { inputs: { x: [[1], [2]] } }, { instances: [{ x: 1 }, { x: 2 }] }, { dataframe_split: { columns: ['x'], data: [[1], [2]] } }]) {
      const { tensors, frameRows } = decodeMlflowInputs(parseMlflowPayload(body), x, ['x']);
      expect({ body, frameRows, dims: tensors[0].dims, data: Array.from(tensors[0].data as Float32Array) }).toEqual({ body, frameRows: 2, dims: [2, 1], data: [1, 2] });
    }
  });

  it('reads version or alias from the query string and ignores any other parameter (as it always did)', () => {
    expect(parseMlflowQuery({ version: '2' })).toEqual({ version: 2 });
    expect(parseMlflowQuery({ alias: 'staging' })).toEqual({ alias: 'staging' });
    expect(parseMlflowQuery(undefined)).toEqual({});
    expect(parseMlflowQuery({ _: '1732690000', format: 'pandas-split' })).toEqual({});
    expect(() => parseMlflowQuery({ version: '2', alias: 'staging' })).toThrow(/either version or alias/);
    expect(() => parseMlflowQuery({ version: ['1', '2'] })).toThrow(/version must be/);
  });

  it('says a data frame without rows has none (not a rank error)', () => {
    const empty = [parseMlflowPayload({ dataframe_split: { columns: ['price', 'promo', 'dow'], data: [] } }), parseMlflowPayload({ dataframe_records: [] })];
    for (const input of empty) {
      expect(() => mlflowInputs(input, tabular, null)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', message: 'The data frame has no rows: send at least one' }));
      expect(() => mlflowInputs(input, multi, null)).toThrow(/no rows/);
    }
  });

  it('wants exactly one known format', () => {
    expect(() => parseMlflowPayload({})).toThrow(/exactly one of/);
    expect(() => parseMlflowPayload({ instances: [], inputs: [] })).toThrow(/exactly one of/);
    expect(() => parseMlflowPayload({ records: [] })).toThrow(/Unknown field 'records'/);
    // Beside a format, other fields are left out, as MLflow's scoring server does.
    expect(parseMlflowPayload({ inputs: [[1]], client_request_id: 'r-1', params: {} })).toEqual({ kind: 'tensor', field: 'inputs', value: [[1]] });
    expect(() => parseMlflowPayload({ dataframe_split: { columns: ['a'], data: [[1, 2]] } })).toThrow(/2 values for 1 columns/);
  });

  it('reads columns: null (pandas without column names) as positional columns, like no columns', () => {
    const positional = { kind: 'dataframe', columns: [null, null], rows: [[1, 2]] };
    expect(parseMlflowPayload({ dataframe_split: { columns: null, data: [[1, 2]] } })).toEqual(positional);
    expect(parseMlflowPayload({ dataframe_split: { data: [[1, 2]] } })).toEqual(positional);
    expect(() => parseMlflowPayload({ dataframe_split: { columns: 'a', data: [[1]] } })).toThrow(/array of column names/);
  });

  it('reads column names from a column-based MLmodel signature only', () => {
    expect(mlflowColumnNames({ signature: { inputs: [{ name: 'dow', type: 'double' }, { name: 'price', type: 'double' }] } })).toEqual(['dow', 'price']);
    expect(mlflowColumnNames({ signature: { inputs: [{ type: 'tensor', 'tensor-spec': { dtype: 'float32' } }] } })).toBeNull();
    expect(mlflowColumnNames(null)).toBeNull();
  });
});
