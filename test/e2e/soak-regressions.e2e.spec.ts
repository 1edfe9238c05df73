import * as fs from 'node:fs';
import * as path from 'node:path';
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

  it('forgets the failed load of a deleted model: /v1/cache and mms_cache_failed_models no longer count it', async () => {
    for (let round = 0; round < 3; round++) {
      const uploaded = await upload('damaged', 10 + round);
      expect(uploaded.status).toBe(201);
      // The store's copy is damaged after the upload: its load fails (and waits for its retry).
      fs.writeFileSync(path.join(t.storeDir, 'sha256', uploaded.body.sha256), 'not a model');
      expect((await t.request('POST', '/v1/predict', { body: { model: 'damaged', inputs: { float_input: [row] } } })).body.error.code).toBe('MODEL_LOAD_FAILED');
      expect((await t.request('GET', '/v1/cache')).body.models.filter((m: { state: string }) => m.state === 'failed')).toHaveLength(1);
      expect((await t.request('DELETE', '/v1/models/damaged')).status).toBe(204);
      expect((await t.request('GET', '/v1/cache')).body.models).toEqual([]);
      expect((await t.request('GET', '/metrics')).body).toMatch(/^mms_cache_failed_models 0$/m);
    }
  });
});
