import { buildLinearModel } from '../fixtures/onnx-builder';
import { buildZip } from '../support/mlflow-zip';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The MLflow scoring protocol and MLflow model zips as `mlflow models serve` and MLflow's own
 * clients use them (mlflow/pyfunc/scoring_server, mlflow/onnx, mlflow/models/utils.py).
 */

/** An MLmodel file as mlflow.onnx.save_model writes it, with the given signature inputs (JSON, as MLflow stores them). */
function mlmodelOf(inputs: object[] | null, data = 'model.onnx'): string {
  return [
    'artifact_path: model',
    'flavors:',
    '  onnx:',
    '    code: null',
    `    data: ${data}`,
    '    onnx_version: 1.16.0',
    '    providers: [CPUExecutionProvider]',
    '  python_function:',
    `    data: ${data}`,
    '    env: {conda: conda.yaml, virtualenv: python_env.yaml}',
    '    loader_module: mlflow.onnx',
    '    python_version: 3.11.7',
    'mlflow_version: 2.17.0',
    'model_uuid: 5f0c6a2d2f7e4d0e9a1b6c3d4e5f6a7b',
    'run_id: 0123456789abcdef',
    ...(inputs
      ? ['signature:', `  inputs: '${JSON.stringify(inputs)}'`, `  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}]'`, '  params: null']
      : []),
  ].join('\n');
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
      const broken = await send('plain', '{"inputs": [[1, NaN, 3]]');
      expect([broken.status, broken.body.error.code, broken.body.error.message]).toEqual([400, 'INVALID_REQUEST', expect.stringContaining('Body is not valid JSON')]);
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
      // Without a signature, or with a column-based one, a frame is still answered as records.
      for (const model of ['plain', 'columns']) {
        expect((await invoke(model, frames[0])).body).toEqual({ predictions: [{ variable: 321 }, { variable: 654 }] });
      }
    });
  });
});
