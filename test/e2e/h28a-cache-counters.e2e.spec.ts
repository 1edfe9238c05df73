import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLinearModel, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

interface Counters {
  hits: number;
  misses: number;
  loads: number;
}

describe('GET /v1/cache counts requests as hits and misses, not prewarms', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ MMS_CACHE_MAX_MODELS: '4', MMS_WORKERS: '1' });
    const res = await t.request('POST', '/v1/models/warm/versions', { body: artifactForm(buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 7 }).bytes) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const cache = async () => {
    const res = await t.request('GET', '/v1/cache');
    expect(res.status).toBe(200);
    const body = res.body as Counters & { models: Array<{ model: string; stats: Counters & { requests: number } }> };
    return { totals: { hits: body.hits, misses: body.misses, loads: body.loads }, warm: body.models.find((m) => m.model === 'warm')!.stats };
  };

  it('a POST …/load of a cold or loaded version is neither a miss nor a hit; the request after it is a hit', async () => {
    expect((await t.request('POST', '/v1/models/warm/load')).status).toBe(200);
    expect((await t.request('POST', '/v1/models/warm/load', { body: { pin: true } })).status).toBe(200);
    let { totals, warm } = await cache();
    expect(totals).toEqual({ hits: 0, misses: 0, loads: 1 });
    expect(warm).toMatchObject({ hits: 0, misses: 0, loads: 1, requests: 0 });

    const res = await t.request('POST', '/v1/predict', { body: { model: 'warm', inputs: { float_input: [RETAIL_SAMPLE_ROWS[0]] } } });
    expect(res.status).toBe(200);
    ({ totals, warm } = await cache());
    expect(totals).toEqual({ hits: 1, misses: 0, loads: 1 });
    expect(warm).toMatchObject({ hits: 1, misses: 0, loads: 1, requests: 1 });
  });
});

describe('GET /v1/cache counts no miss for a request refused during a failed load\'s backoff', () => {
  let t: TestApp;
  let blob: string;

  beforeAll(async () => {
    t = await startTestApp({ MMS_WORKERS: '1' });
    const res = await t.request('POST', '/v1/models/broken/versions', { body: artifactForm(buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 8 }).bytes) });
    expect(res.status).toBe(201);
    blob = path.join(t.storeDir, 'sha256', res.body.sha256);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('one miss for the request that tried the load, none for those answered 503 at once without trying', async () => {
    const saved = fs.readFileSync(blob);
    fs.writeFileSync(blob, 'not an onnx model');
    try {
      const predict = () => t.request('POST', '/v1/predict', { body: { model: 'broken', inputs: { float_input: [RETAIL_SAMPLE_ROWS[0]] } } });
      const tried = await predict();
      expect(tried.body.error).toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { attempts: 1 } });
      for (let i = 0; i < 3; i++) expect((await predict()).body.error).toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { attempts: 1 } });
      const cache = await t.request('GET', '/v1/cache');
      expect(cache.body).toMatchObject({ hits: 0, misses: 1, loads: 0, loadFailures: 1 });
      expect(cache.body.models.find((m: { model: string }) => m.model === 'broken').stats).toMatchObject({ hits: 0, misses: 1, loadFailures: 1 });
    } finally {
      fs.writeFileSync(blob, saved);
    }
  });
});
