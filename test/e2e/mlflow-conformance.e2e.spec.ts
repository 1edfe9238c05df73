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
