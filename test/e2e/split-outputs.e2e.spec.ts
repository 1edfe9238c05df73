import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** A split whose versions answer differently named outputs would hand a client one set or the other at random: refused. */
describe('PUT /v1/models/{name}/traffic with versions answering different outputs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    for (const outputName of ['variable', 'y', 'variable']) {
      const bytes = buildLinearModel({ weights: [1, 2, 3], bias: 0, outputName }).bytes;
      expect((await t.request('POST', '/v1/models/renamed/versions', { body: artifactForm(bytes) })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('refuses the split naming the outputs each version lacks, and leaves no rule', async () => {
    const res = await t.request('PUT', '/v1/models/renamed/traffic', { body: { split: { '1': 90, '2': 10 } } });
    expect([res.status, res.body.error.code, res.body.error.details]).toEqual([
      400,
      'INVALID_TRAFFIC_RULE',
      { name: 'renamed', field: 'split', versions: [1, 2], differences: ["v1 answers 'variable', v2 does not", "v2 answers 'y', v1 does not"] },
    ]);
    expect((await t.request('GET', '/v1/models/renamed/traffic')).body.split).toBeNull();
  });

  it('takes a split of versions answering the same outputs, one at weight 0 whatever it answers, and a mirror of the other', async () => {
    expect((await t.request('PUT', '/v1/models/renamed/traffic', { body: { split: { '1': 90, '3': 10 } } })).status).toBe(200);
    expect((await t.request('PUT', '/v1/models/renamed/traffic', { body: { split: { '1': 100, '2': 0 } } })).status).toBe(200);
    expect((await t.request('PUT', '/v1/models/renamed/traffic', { body: { split: { '1': 100 }, mirror: { version: 2, percent: 50 } } })).status).toBe(200);
  });
});
