import { buildLinearModel, buildVectorScaleModel, onnxGraph } from '../fixtures/onnx-builder';
import { buildZip, mlmodelHead, patchEntryName } from '../support/mlflow-zip';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The MLflow scoring protocol and MLflow model zips as `mlflow models serve` and MLflow's own
 * clients use them (mlflow/pyfunc/scoring_server, mlflow/onnx, mlflow/models/utils.py).
 */

/** An MLmodel file as mlflow.onnx.save_model writes it, with the given signature inputs (JSON, as MLflow stores them). */
function mlmodelOf(inputs: object[] | null, data = 'model.onnx'): string {
  return [
    ...mlmodelHead(data),
    ...(inputs
      ? ['signature:', `  inputs: '${JSON.stringify(inputs)}'`, `  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}]'`, '  params: null']
      : []),
  ].join('\n');
}

/**
 * y = x·w + b with w [3, 1] = (1, 10, 100) and b = 0.5 kept as ONNX external data in `location`,
 * as mlflow.onnx.save_model writes a model by default (save_as_external_data=True): the weights
 * in a file beside model.onnx named by a uuid, each tensor at its offset.
 */
function externalDataModel(location: string, lengthOfB = 4): { onnx: Buffer; data: Buffer } {
  const { node, encode } = onnxGraph;
  const external = (name: string, dims: number[], offset: number, length: number) => ({
    name,
    dims,
    dataType: 1,
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  });
  const onnx = encode({
    name: 'external',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 1] }],
    initializers: [external('w', [3, 1], 0, 12), external('b', [1], 16, lengthOfB)],
    nodes: [node('MatMul', ['x', 'w'], ['xw']), node('Add', ['xw', 'b'], ['y'])],
  });
  const data = Buffer.concat([Buffer.from(new Float32Array([1, 10, 100]).buffer), Buffer.alloc(4), Buffer.from(new Float32Array([0.5]).buffer)]);
  return { onnx, data };
}

describe('MLflow conformance', () => {
  let t: TestApp;
  // y = x0 + 10·x1 + 100·x2: the answer tells which value fed which feature.
  const digits = buildLinearModel({ weights: [1, 10, 100], bias: 0, inputName: 'x' });
  const invoke = (model: string, body: unknown) => t.request('POST', `/v1/models/${model}/invocations`, { body });
  const upload = async (name: string, bytes: Buffer, filename = 'model.zip') => {
    const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes, { filename }) });
    if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { version: number };
  };
  const zipOf = (mlmodel: string, onnx: Buffer) =>
    buildZip([
      { name: 'MLmodel', data: mlmodel },
      { name: 'model.onnx', data: onnx },
    ]);

  beforeAll(async () => {
    t = await startTestApp();
    await upload('plain', digits.bytes, 'model.onnx');
    await upload('columns', await zipOf(mlmodelOf(['a', 'b', 'c'].map((name) => ({ type: 'double', name }))), digits.bytes));
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe("JSON as MLflow's clients write it (Python's json: NaN, Infinity)", () => {
    const send = (model: string, text: string) => t.request('POST', `/v1/models/${model}/invocations`, { body: new Blob([text], { type: 'application/json' }) });

    it("reads a data frame's NaN as its missing value, as mlflow's client sends DataFrame.to_dict(orient='split') with json.dumps", async () => {
      const split = '{"dataframe_split": {"index": [0, 1], "columns": ["a", "b", "c"], "data": [[1.0, NaN, 3.0], [4.0, 5.0, 6.0]]}}';
      for (const model of ['plain', 'columns']) {
        const res = await send(model, split);
        expect({ model, status: res.status, body: res.body }).toEqual({ model, status: 200, body: { predictions: [{ variable: null }, { variable: 654 }] } });
      }
      const records = await send('columns', '{"dataframe_records": [{"a": 1, "b": 2, "c": NaN}, {"a": 4, "b": 5, "c": 6}], "params": {"p": NaN}}');
      expect([records.status, records.body]).toEqual([200, { predictions: [{ variable: null }, { variable: 654 }] }]);
      // "NaN" inside a string is text, and a big body (read in the JSON codec thread) reads NaN the same way.
      const rows = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? '[1.0, NaN, 3.0]' : '[1.0, 2.0, 3.0]'));
      const big = await send('columns', `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [${rows.join(', ')}]}, "params": {"note": "NaN"}}`);
      expect(big.status).toBe(200);
      expect(big.body.predictions.slice(0, 4)).toEqual([{ variable: 321 }, { variable: null }, { variable: 321 }, { variable: null }]);
      expect(big.body.predictions).toHaveLength(10_000);
    });

    it('refuses NaN and infinities in tensors by input, and JSON that is broken anyway as before', async () => {
      const nan = await send('plain', '{"inputs": [[1, NaN, 3]]}');
      expect([nan.status, nan.body.error.code, nan.body.error.message]).toEqual([400, 'INVALID_INPUT', expect.stringContaining("Input 'x'")]);
      const inf = await send('plain', '{"inputs": [[1, -Infinity, 3]]}');
      expect([inf.status, inf.body.error.code, inf.body.error.message]).toEqual([400, 'INVALID_INPUT', expect.stringContaining("Input 'x'")]);
      // Refused for what is wrong besides NaN.
      const broken = await send('plain', '{"inputs": [[1, NaN, 3]]');
      expect([broken.status, broken.body.error.code, broken.body.error.message]).toEqual([400, 'INVALID_REQUEST', expect.stringContaining('Body is not valid JSON')]);
      expect(broken.body.error.message).not.toContain("Unexpected token 'N'");
      const poisoned = await send('plain', '{"inputs": [[1, NaN, 3]], "__proto__": {"x": 1}}');
      expect([poisoned.status, poisoned.body.error.message]).toEqual([400, expect.stringContaining("'__proto__' or 'constructor.prototype' key")]);
      // Other routes keep to JSON.
      const predict = await t.request('POST', '/v1/predict', { body: new Blob(['{"model": "plain", "inputs": {"x": [[1, NaN, 3]]}}'], { type: 'application/json' }) });
      expect([predict.status, predict.body.error.message]).toEqual([400, expect.stringContaining('Body is not valid JSON')]);
    });
  });

  it('leaves out fields beside the format, as the MLflow scoring server does, and names one sent without any format', async () => {
    const res = await invoke('columns', { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 2, 3]] }, client_request_id: 'r-1', params: { temperature: 0.5 } });
    expect([res.status, res.body]).toEqual([200, { predictions: [{ variable: 321 }] }]);
    const none = await invoke('columns', { dataframe: { columns: ['a', 'b', 'c'], data: [[1, 2, 3]] } });
    expect([none.status, none.body.error.code, none.body.error.message]).toEqual([400, 'INVALID_REQUEST', expect.stringContaining("Unknown field 'dataframe'")]);
  });

  it("registers a zip whose entry names start with './' (bsdtar's tar -a -cf model.zip .)", async () => {
    let zip = await buildZip([
      { name: 'zzMLmodel', data: mlmodelOf(null) },
      { name: 'zzmodel.onnx', data: digits.bytes },
    ]);
    zip = patchEntryName(patchEntryName(zip, 'zzMLmodel', './MLmodel'), 'zzmodel.onnx', './model.onnx');
    await upload('dot-slash', zip);
    expect((await invoke('dot-slash', { instances: [[1, 2, 3]] })).body).toEqual({ predictions: { variable: [[321]] } });
  });

  it('answers a list of values for a signature of one column as a data frame of that column, as MLflow reads it', async () => {
    // y = 2·v, v [N], with an MLflow signature of one double column named otherwise.
    await upload('one-column', await zipOf(mlmodelOf([{ type: 'double', name: 'amount' }]), buildVectorScaleModel({ factor: 2 })));
    const records = { predictions: [{ y: 2 }, { y: 4 }, { y: 6 }] };
    for (const body of [{ inputs: [1, 2, 3] }, { instances: [1, 2, 3] }, { inputs: { amount: [1, 2, 3] } }, { dataframe_split: { columns: ['amount'], data: [[1], [2], [3]] } }]) {
      const res = await invoke('one-column', body);
      expect({ body, status: res.status, answer: res.body }).toEqual({ body, status: 200, answer: records });
    }
  });

  it('reads a CSV body whose lines end in a carriage return alone, as pandas does', async () => {
    const res = await invoke('columns', new Blob(['c,b,a\r3,2,1\r6,5,4\r'], { type: 'text/csv' }));
    expect([res.status, res.body]).toEqual([200, { predictions: [{ variable: 321 }, { variable: 654 }] }]);
  });

  describe("a model saved with its weights as ONNX external data (mlflow.onnx's default)", () => {
    const uuid = '6b3c5f1a-1d2e-11ef-9a3b-0242ac120002';
    const zipWith = (onnx: Buffer, files: Array<{ name: string; data: Buffer | string }>) =>
      buildZip([
        { name: 'model/MLmodel', data: mlmodelOf(['a', 'b', 'c'].map((name) => ({ type: 'double', name }))) },
        { name: 'model/model.onnx', data: onnx },
        { name: 'model/conda.yaml', data: 'name: mlflow-env\n' },
        ...files,
      ]);

    it('registers it with the data made part of the stored model, and scores it', async () => {
      const { onnx, data } = externalDataModel(uuid);
      const version = await upload('external-data', await zipWith(onnx, [{ name: `model/${uuid}`, data }]));
      expect(version.version).toBe(1);
      const res = await invoke('external-data', { dataframe_split: { columns: ['c', 'b', 'a'], data: [[3, 2, 1], [6, 5, 4]] } });
      expect([res.status, res.body]).toEqual([200, { predictions: [{ y: 321.5 }, { y: 654.5 }] }]);
    });

    it('refuses one whose data file is missing, outside the model directory or too short, storing nothing', async () => {
      const { onnx, data } = externalDataModel(uuid);
      const cases: Array<[string, Buffer, number, string, string]> = [
        ['missing', await zipWith(onnx, []), 422, 'MLMODEL_INVALID', `keeps tensors in '${uuid}' beside it, which is not in the archive`],
        ['outside', await zipWith(externalDataModel('../weights.bin').onnx, [{ name: 'weights.bin', data }]), 400, 'ARCHIVE_UNSAFE', "external data '../weights.bin' lies outside the model directory"],
        ['short', await zipWith(externalDataModel(uuid, 8).onnx, [{ name: `model/${uuid}`, data }]), 422, 'ARTIFACT_INVALID', "tensor 'b' lies beyond the end of its external data file"],
      ];
      for (const [label, zip, status, code, message] of cases) {
        const res = await t.request('POST', `/v1/models/external-${label}/versions`, { body: artifactForm(zip, { filename: 'model.zip' }) });
        expect({ label, status: res.status, code: res.body.error?.code, message: res.body.error?.message }).toEqual({ label, status, code, message: expect.stringContaining(message) });
        expect((await t.request('GET', `/v1/models/external-${label}`)).status).toBe(404);
      }
    });
  });

  describe('a tensor-based signature', () => {
    beforeAll(async () => {
      await upload('tensor-sig', await zipOf(mlmodelOf([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] } }]), digits.bytes));
      await upload('named-tensor-sig', await zipOf(mlmodelOf([{ name: 'x', type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] } }]), digits.bytes));
    });

    it('answers a data frame as the dict of output arrays, as MLflow feeds such a frame to the model as tensors', async () => {
      const frames = [
        { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 2, 3], [4, 5, 6]] } },
        { dataframe_records: [{ a: 1, b: 2, c: 3 }, { a: 4, b: 5, c: 6 }] },
        { dataframe_split: { columns: ['x'], data: [[[1, 2, 3]], [[4, 5, 6]]] } },
      ];
      for (const model of ['tensor-sig', 'named-tensor-sig']) {
        for (const body of frames) {
          const res = await invoke(model, body);
          expect({ model, body, status: res.status, answer: res.body }).toEqual({ model, body, status: 200, answer: { predictions: { variable: [[321], [654]] } } });
        }
        const csv = await invoke(model, new Blob(['a,b,c\n1,2,3\n4,5,6\n'], { type: 'text/csv' }));
        expect([csv.status, csv.body]).toEqual([200, { predictions: { variable: [[321], [654]] } }]);
      }
      // One column holding each row's tensor, whatever its name, as MLflow reads a frame for a tensor signature.
      const column = await invoke('tensor-sig', { dataframe_records: [{ pixels: [1, 2, 3] }, { pixels: [4, 5, 6] }] });
      expect([column.status, column.body]).toEqual([200, { predictions: { variable: [[321], [654]] } }]);
      // Without a signature, or with a column-based one, a frame is still answered as records.
      for (const model of ['plain', 'columns']) {
        expect((await invoke(model, frames[0])).body).toEqual({ predictions: [{ variable: 321 }, { variable: 654 }] });
      }
    });
  });
});
