import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** `x-routing-key` is held to the body field's 256 characters on every prediction route, not only /v1/predict. */
describe('x-routing-key on the OIP and MLflow routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/v1/models/keyed/versions', { body: artifactForm(buildLinearModel({ weights: [1, 2, 3], bias: 0 }).bytes) })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const routes: Array<[string, string, unknown]> = [
    ['/v1/predict', '/v1/predict', { model: 'keyed', inputs: { float_input: [[1, 1, 1]] } }],
    ['OIP infer', '/v2/models/keyed/infer', { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 1, 1] }] }],
    ['MLflow invocations', '/v1/models/keyed/invocations', { inputs: [[1, 1, 1]] }],
  ];

  it.each(routes)('%s answers a key of 256 characters and refuses one of 257 with a 400 naming the header', async (_, path, body) => {
    const ok = await t.request('POST', path, { body, headers: { 'x-routing-key': 'k'.repeat(256) } });
    expect(ok.status).toBe(200);
    const refused = await t.request('POST', path, { body, headers: { 'x-routing-key': 'k'.repeat(257) } });
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([400, 'INVALID_REQUEST', { header: 'x-routing-key' }]);
  });
});
