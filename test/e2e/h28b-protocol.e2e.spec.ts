import { buildLinearModel } from '../fixtures/onnx-builder';
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
});
