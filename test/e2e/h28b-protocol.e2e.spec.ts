import { buildDoublingModel, buildLinearModel, buildWideOutputModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/** Open Inference Protocol and MLflow scoring protocol details, as their existing clients meet them. */
describe('protocol conformance (h28b)', () => {
  let t: TestApp;
  const linear = buildLinearModel({ weights: [1, 10, 100], bias: 0, inputName: 'x' });

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.request('POST', '/v1/models/digits/versions', { body: artifactForm(linear.bytes, { filename: 'digits.onnx' }) });
    expect(res.status).toBe(201);
    const scalar = await t.request('POST', '/v1/models/doubling/versions', { body: artifactForm(buildDoublingModel('scalar'), { filename: 'doubling.onnx' }) });
    expect(scalar.status).toBe(201);
    const single = buildLinearModel({ weights: [2], bias: 1, inputName: 'price' });
    const one = await t.request('POST', '/v1/models/one-feature/versions', { body: artifactForm(single.bytes, { filename: 'one.onnx' }) });
    expect(one.status).toBe(201);
  });
  afterAll(() => t?.dispose());

  it("refuses MLflow 1.x's format=pandas-split media type with 415 saying how to send it since MLflow 2.0, as mlflow models serve does", async () => {
    const legacy = { columns: ['a', 'b', 'c'], data: [[1, 2, 3]] };
    const split = await t.request('POST', '/v1/models/digits/invocations', { body: legacy, headers: { 'content-type': 'application/json; format=pandas-split' } });
    expect(split.status).toBe(415);
    expect(split.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', details: { parameter: 'format', value: 'pandas-split' } });
    expect(split.body.error.message).toContain('{"dataframe_split": {"columns": [...], "data": [...]}}');
    const records = await t.request('POST', '/v1/models/digits/invocations', { body: [{ a: 1, b: 2, c: 3 }], headers: { 'content-type': 'application/json; format="pandas-records"' } });
    expect(records.status).toBe(415);
    expect(records.body.error.message).toContain('{"dataframe_records": [...]}');
    // The same frame in MLflow 2's body, and a charset parameter, are answered.
    const current = await t.request('POST', '/v1/models/digits/invocations', { body: { dataframe_split: legacy }, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(current).toMatchObject({ status: 200, body: { predictions: [{ variable: 321 }] } });
  });

  it('reads a bare value in MLflow inputs as the single input, as MLflow reads {"inputs": 3} as np.array(3)', async () => {
    const scalar = await t.request('POST', '/v1/models/doubling/invocations', { body: { inputs: 3 } });
    expect(scalar).toMatchObject({ status: 200, body: { predictions: { y: 6 } } });
    // A model whose input is not a scalar says what shape it takes, not that inputs must be an object (a list is fine too).
    const res = await t.request('POST', '/v1/models/digits/invocations', { body: { inputs: 5 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x' } });
    expect(res.body.error.message).toContain('expected shape [N, 3]');
  });

  it('reads dataframe_split data given as a flat list of values as the rows of one column, as pandas builds that frame', async () => {
    for (const columns of [['price'], undefined]) {
      const res = await t.request('POST', '/v1/models/one-feature/invocations', { body: { dataframe_split: { ...(columns ? { columns } : {}), data: [3.5, 4] } } });
      expect(res).toMatchObject({ status: 200, body: { predictions: [{ variable: 8 }, { variable: 9 }] } });
    }
    // Several columns cannot be filled from one flat list (pandas refuses it too).
    const wide = await t.request('POST', '/v1/models/digits/invocations', { body: { dataframe_split: { columns: ['a', 'b', 'c'], data: [1, 2, 3] } } });
    expect(wide.status).toBe(400);
    expect(wide.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'dataframe_split.data' } });
  });

  it('describes, under a traffic split, the version the x-routing-key lands on (metadata, config and ready), as infer does', async () => {
    // Two versions with the same inputs and output names, told apart by the output's width (1 and 2), split 50/50
    // (a split of versions answering differently named outputs is refused: rule-compatibility.ts).
    const widthOf: Record<string, number> = { '1': 1, '2': 2 };
    for (const width of [1, 2]) {
      const { bytes } = buildWideOutputModel({ width, nFeatures: 3 });
      expect((await t.request('POST', '/v1/models/split/versions', { body: artifactForm(bytes, { filename: 'split.onnx' }) })).status).toBe(201);
    }
    expect((await t.request('PUT', '/v1/models/split/traffic', { body: { split: { '1': 50, '2': 50 } } })).status).toBe(200);
    const infer = { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
    const versions = new Set<string>();
    for (let k = 0; k < 16; k++) {
      const headers = { 'x-routing-key': `customer-${k}` };
      const answer = await t.request('POST', '/v2/models/split/infer', { body: infer, headers });
      expect(answer.status).toBe(200);
      const [metadata, config, ready] = await Promise.all(['', '/config', '/ready'].map((suffix) => t.request('GET', `/v2/models/split${suffix}`, { headers })));
      expect(metadata.body.outputs.map((o: { shape: number[] }) => o.shape)).toEqual([[-1, widthOf[answer.body.model_version]]]);
      expect(config.body.output.map((o: { dims: number[] }) => o.dims)).toEqual([[-1, widthOf[answer.body.model_version]]]);
      expect(ready.body.version).toBe(answer.body.model_version);
      versions.add(answer.body.model_version);
    }
    expect(versions).toEqual(new Set(['1', '2']));
  });
});
