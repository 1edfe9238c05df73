import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * What a long run under mixed traffic must not accumulate: each test drives a path a soak run
 * showed growing, then counts what the service still holds for it.
 */
describe('soak regressions', () => {
  let t: TestApp;
  const row = [4, 1, 3.49, 55, 51, 22];
  const upload = (name: string, bias: number) => t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias }).bytes) });
  const metricLines = async (name: string) => ((await t.request('GET', '/metrics')).body as string).split('\n').filter((l) => l.startsWith(`${name}{`));

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('drops a deleted model’s mirror figures, however often a mirrored model is deleted and registered again', async () => {
    for (let round = 0; round < 3; round++) {
      for (const bias of [1, 2]) expect((await upload('mirrored', bias)).status).toBe(201);
      expect((await t.request('PUT', '/v1/models/mirrored/traffic', { body: { split: { '1': 100 }, mirror: { version: 2, percent: 100 } } })).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await t.request('POST', '/v1/predict', { body: { model: 'mirrored', inputs: { float_input: [row] } } })).status).toBe(200);
      // Shadow calls run after the answers: wait until all five are counted.
      for (let tries = 0; ; tries++) {
        const comparison = (await t.request('GET', '/v1/models/mirrored/traffic')).body.comparison;
        if (comparison[0]?.count === 5) break;
        if (tries > 200) throw new Error(`shadow calls not counted: ${JSON.stringify(comparison)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(await metricLines('mms_mirror_requests_total')).toHaveLength(1);
      expect((await t.request('DELETE', '/v1/models/mirrored')).status).toBe(204);
      // Gone with the model: no series left for it, nor kept in memory to be looked up at every scrape.
      expect(await metricLines('mms_mirror_requests_total')).toEqual([]);
    }
  });
});
