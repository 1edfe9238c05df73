import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildFailingReshapeModel, buildLinearModel, buildMlpModel, buildRowCenteringModel, buildRowThresholdModel, buildTreeEnsembleModel, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const ROW = RETAIL_SAMPLE_ROWS[0];
/** Distinct bytes per model (the store keeps identical artifacts once). */
const modelBytes = (bias: number) => buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias }).bytes;

interface CacheModel {
  model: string;
  version: number;
  state: string;
  pinned: boolean;
  sizeBytes: number;
  stats: { loads: number; evictions: number; requests: number; calls: number; loadFailures: number };
}

async function uploadAll(t: TestApp, names: string[]): Promise<Record<string, string>> {
  const sha: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(modelBytes(i + 1)) });
    if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    sha[name] = res.body.sha256;
  }
  return sha;
}

const cacheOf = async (t: TestApp) => {
  const res = await t.request('GET', '/v1/cache');
  expect(res.status).toBe(200);
  return res.body as { loaded: number; bytes: number; usage: { bytes: number; models: number }; evictions: number; loads: number; models: CacheModel[] };
};
const loadedNames = async (t: TestApp) =>
  (await cacheOf(t)).models
    .filter((m) => m.state === 'ready')
    .map((m) => m.model)
    .sort();

describe('session cache under a tiny bound (MMS_CACHE_MAX_MODELS=2)', () => {
  let t: TestApp;
  let sha: Record<string, string>;
  const predict = (model: string) => t.request('POST', '/v1/predict', { body: { model, inputs: { float_input: [ROW] } } });

  beforeAll(async () => {
    // One tenant, allowed the whole cache (its pins too: by default a tenant pins half of it at most).
    t = await startTestApp({ MMS_CACHE_MAX_MODELS: '2', MMS_WORKERS: '2', MMS_BATCH_WINDOW_MS: '20', MMS_TENANT_CACHE_SHARE: '1' });
    sha = await uploadAll(t, ['m1', 'm2', 'm3', 'm4', 'm5', 'fragile', 'tampered']);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('keeps at most two models loaded, evicting the least recently used', async () => {
    for (const name of ['m1', 'm2', 'm1', 'm3']) {
      expect((await predict(name)).status).toBe(200);
      const cache = await cacheOf(t);
      expect(cache.usage.models).toBeLessThanOrEqual(2);
      expect(cache.loaded).toBeLessThanOrEqual(2);
    }
    expect(await loadedNames(t)).toEqual(['m1', 'm3']);
    expect((await cacheOf(t)).evictions).toBe(1);
    expect((await predict('m2')).status).toBe(200);
    const m2 = (await cacheOf(t)).models.find((m) => m.model === 'm2')!;
    expect(m2.stats).toMatchObject({ loads: 2, evictions: 1 });
  });

  it('keeps a pinned model through pressure, and refuses to pin past the bound', async () => {
    expect((await t.request('POST', '/v1/models/m4/load', { body: { pin: true } })).body).toMatchObject({ model: 'm4', pinned: true, inUse: 0 });
    for (const name of ['m1', 'm2', 'm3', 'm5', 'm1']) expect((await predict(name)).status).toBe(200);
    const cache = await cacheOf(t);
    expect(cache.models.filter((m) => m.state === 'ready').map((m) => [m.model, m.pinned])).toEqual([
      ['m1', false],
      ['m4', true],
    ]);
    expect(cache.models.find((m) => m.model === 'm4')!.stats.loads).toBe(1);
    expect((await t.request('POST', '/v1/models/m1/load', { body: { pin: true } })).status).toBe(200);
    const third = await t.request('POST', '/v1/models/m2/load', { body: { pin: true } });
    expect(third.status).toBe(409);
    expect(third.body.error.code).toBe('PIN_LIMIT_EXCEEDED');
    // null is "not given": the pin stays as it is.
    expect((await t.request('POST', '/v1/models/m1/load', { body: { pin: null } })).body.pinned).toBe(true);
    expect((await t.request('POST', '/v1/models/m1/load', { body: { pin: false } })).body.pinned).toBe(false);
    expect((await t.request('POST', '/v1/models/m4/unload')).body.unloaded).toEqual([1]);
  });

  it('loads a cold model exactly once for 30 concurrent requests, and merges them into fewer calls', async () => {
    await t.request('POST', '/v1/models/m5/unload');
    const before = (await cacheOf(t)).models.find((m) => m.model === 'm5');
    expect(before).toBeUndefined();
    const results = await Promise.all(Array.from({ length: 30 }, () => predict('m5')));
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
    const m5 = (await cacheOf(t)).models.find((m) => m.model === 'm5')!;
    expect(m5.stats.requests).toBeGreaterThanOrEqual(30);
    expect(m5.stats.calls).toBeLessThan(m5.stats.requests);
    const loads = m5.stats.loads;
    const again = await Promise.all(Array.from({ length: 30 }, () => predict('m5')));
    expect(again.every((r) => r.status === 200)).toBe(true);
    expect((await cacheOf(t)).models.find((m) => m.model === 'm5')!.stats.loads).toBe(loads);
  });

  it('answers each concurrent request to a model whose rows depend on each other as if it were alone (no merging)', async () => {
    // y = x - mean(x over the call's rows): merged with others, a request would get another answer.
    expect((await t.request('POST', '/v1/models/centering/versions', { body: artifactForm(buildRowCenteringModel(2).bytes) })).status).toBe(201);
    for (let round = 0; round < 3; round++) {
      const rows = Array.from({ length: 16 }, (_, i) => [i * 10 + round, -i]);
      const answers = await Promise.all([
        ...rows.map((row) => t.request('POST', '/v1/predict', { body: { model: 'centering', inputs: { x: [row] } } })),
        ...rows.map((row) => t.request('POST', '/v2/models/centering/infer', { body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: row }] } })),
      ]);
      expect(answers.map((a) => a.status)).toEqual(Array(32).fill(200));
      expect(answers.slice(0, 16).map((a) => a.body.outputs.y)).toEqual(Array(16).fill([[0, 0]]));
      expect(answers.slice(16).map((a) => a.body.outputs[0].data)).toEqual(Array(16).fill([0, 0]));
    }
  });

  it('answers each concurrent request as if alone for a model whose rows meet only past a threshold (its graph says so)', async () => {
    // y = x + relu(sum(x over the call's rows) - 1000): small rows merged together give each its own answer,
    // so only the graph tells that one big row among them would change everyone's.
    const threshold = buildRowThresholdModel();
    expect((await t.request('POST', '/v1/models/threshold/versions', { body: artifactForm(threshold.bytes) })).status).toBe(201);
    const wave = (values: number[]) => Promise.all(values.map((v) => t.request('POST', '/v1/predict', { body: { model: 'threshold', inputs: { x: [[v]] } } })));
    const small = Array.from({ length: 16 }, (_, i) => i + 1);
    for (let round = 0; round < 3; round++) expect((await wave(small)).map((a) => a.body.outputs.y)).toEqual(threshold.expected(small.map((v) => [v])).map((row) => [row]));
    for (let round = 0; round < 3; round++) {
      const values = [...small, 5000];
      const answers = await wave(values);
      expect(answers.map((a) => a.status)).toEqual(Array(values.length).fill(200));
      expect(answers.map((a) => a.body.outputs.y)).toEqual(threshold.expected(values.map((v) => [v])).map((row) => [row]));
    }
  });

  it("answers 422 INFERENCE_FAILED with the runtime's reason, without its source locations and without onnxruntime's own log lines", async () => {
    expect((await t.request('POST', '/v1/models/reshaping/versions', { body: artifactForm(buildFailingReshapeModel()) })).status).toBe(201);
    const res = await t.request('POST', '/v1/predict', { body: { model: 'reshaping', inputs: { x: [[1, 2, 3]] } } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'INFERENCE_FAILED', details: { model: 'reshaping', version: 1, reason: expect.stringContaining('The input tensor cannot be reshaped to the requested shape') } });
    expect(JSON.stringify(res.body)).not.toContain('onnxruntime_src');
    // A client's bad call is answered, not written to the server's output by the runtime as well.
    expect(t.output()).not.toContain('onnxruntime::');
  });

  it('answers every request while concurrent traffic over more models than the bound keeps evicting busy sessions', async () => {
    const names = ['m1', 'm2', 'm3'];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => predict(names[i % names.length])));
      const failed = results.filter((r) => r.status !== 200).map((r) => JSON.stringify(r.body));
      expect(failed).toEqual([]);
    }
    const workers = ((await t.request('GET', '/v1/cache')).body as { workers: Array<{ models: number; bytes: number }> }).workers;
    const cache = await cacheOf(t);
    // Each worker's count matches what the cache holds: no session counted twice or left behind.
    expect(workers.reduce((sum, w) => sum + w.bytes, 0)).toBe(cache.usage.bytes);
  });

  it('loads no more sessions at once than the bound holds when a burst asks for many cold models', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `burst${i}`);
    for (const [i, name] of names.entries()) expect((await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(modelBytes(100 + i)) })).status).toBe(201);
    const loadsBefore = (await cacheOf(t)).loads;
    let done = false;
    const burst = Promise.all(names.map((name) => predict(name))).finally(() => (done = true));
    const seen: Array<{ sessions: number; unloading: number; waiting: number }> = [];
    while (!done) {
      const cache = (await t.request('GET', '/v1/cache')).body as { workers: Array<{ models: number }>; models: Array<CacheModel & { waitingForRoom?: boolean }> };
      seen.push({
        sessions: cache.workers.reduce((sum, w) => sum + w.models, 0),
        unloading: cache.models.filter((m) => m.state === 'unloading').length,
        waiting: cache.models.filter((m) => m.waitingForRoom).length,
      });
    }
    expect((await burst).map((r) => r.status)).toEqual(Array(12).fill(200));
    // What the workers hold: the two the cache may keep (loaded or loading) plus sessions evicted
    // while their request still ran. Loading all twelve at once used to hold twelve.
    expect(seen.filter((s) => s.sessions > 2 + s.unloading)).toEqual([]);
    expect(seen.some((s) => s.waiting > 0)).toBe(true);
    expect((await cacheOf(t)).loads - loadsBefore).toBe(12); // each once
  });

  it('answers 503 MODEL_LOAD_FAILED for an artifact that does not load, retries after a backoff, and recovers', async () => {
    const blob = path.join(t.storeDir, 'sha256', sha.fragile);
    const saved = fs.readFileSync(blob);
    fs.rmSync(blob);
    try {
      const failed = await predict('fragile');
      expect(failed.status).toBe(503);
      expect(failed.body.error).toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { model: 'fragile', version: 1, attempts: 1 } });
      expect(failed.headers.get('retry-after')).toBe('1');
      // Inside the backoff: answered at once, without another load attempt.
      expect((await predict('fragile')).status).toBe(503);
      expect((await t.request('GET', '/v2/models/fragile/ready')).status).toBe(503);
      const entry = (await cacheOf(t)).models.find((m) => m.model === 'fragile')!;
      expect(entry).toMatchObject({ state: 'failed', stats: { loadFailures: 1, loads: 0 } });
    } finally {
      fs.writeFileSync(blob, saved);
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const recovered = await predict('fragile');
    expect(recovered.status).toBe(200);
    const entry = (await cacheOf(t)).models.find((m) => m.model === 'fragile')!;
    expect(entry).toMatchObject({ state: 'ready', stats: { loadFailures: 1, loads: 1 } });
  });

  it('refuses a stored artifact whose bytes no longer have its digest, until the same file is uploaded again', async () => {
    const blob = path.join(t.storeDir, 'sha256', sha.tampered);
    // A valid model, but not the one registered: without the check it would be served as version 1.
    fs.writeFileSync(blob, buildLinearModel({ weights: [9, 9, 9, 9, 9, 9], bias: 0 }).bytes);
    const refused = await predict('tampered');
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { model: 'tampered', version: 1 } });
    expect(refused.body.error.details.reason).toContain(`does not have its SHA-256 (${sha.tampered.slice(0, 12)}…`);
    expect(JSON.stringify(refused.body)).not.toContain(t.storeDir);
    // The same file uploaded again (here as version 2) replaces the damaged copy: version 1 loads after its backoff.
    const again = await t.request('POST', '/v1/models/tampered/versions', { body: artifactForm(modelBytes(7)) });
    expect(again.status).toBe(201);
    expect(again.body.sha256).toBe(sha.tampered);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const served = await t.request('POST', '/v1/predict', { body: { model: 'tampered', version: 1, inputs: { float_input: [ROW] } } });
    expect(served.status).toBe(200);
    expect(served.body.outputs.variable[0][0]).toBeCloseTo(ROW.reduce((a, b) => a + b, 0) + 7, 3);
  });
});

describe('session cache under a byte bound (MMS_CACHE_MAX_BYTES=1 MiB)', () => {
  let t: TestApp;
  const MIB = 1024 * 1024;

  beforeAll(async () => {
    t = await startTestApp({ MMS_CACHE_MAX_BYTES: String(MIB), MMS_CACHE_MAX_MODELS: '100', MMS_WORKERS: '1' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('holds the estimated bytes within the bound', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `b${i}`);
    await uploadAll(t, names);
    for (const name of names) expect((await t.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: [ROW] } } })).status).toBe(200);
    const cache = await cacheOf(t);
    expect(cache.usage.bytes).toBeLessThanOrEqual(MIB);
    const size = cache.models[0].sizeBytes;
    // A small session is estimated at 128 KiB plus twice its file: 7 fit in 1 MiB.
    expect(size).toBeGreaterThan(128 * 1024);
    expect(cache.loaded).toBe(Math.floor(MIB / size));
    expect(cache.evictions).toBe(10 - cache.loaded);
  });

  it('estimates a tree ensemble at ten times its file (the runtime unpacks every node), other graphs at twice, plus the padding of their packed weights', async () => {
    const trees = buildTreeEnsembleModel({ nFeatures: 6 });
    expect((await t.request('POST', '/v1/models/forest/versions', { body: artifactForm(trees.bytes) })).status).toBe(201);
    expect((await t.request('POST', '/v1/predict', { body: { model: 'forest', inputs: { float_input: [ROW] } } })).status).toBe(200);
    const sizes = Object.fromEntries((await cacheOf(t)).models.filter((m) => m.state === 'ready').map((m) => [m.model, m.sizeBytes]));
    expect(sizes.forest).toBe(128 * 1024 + 10 * trees.bytes.length);
    const linear = Object.keys(sizes).find((name) => name.startsWith('b'))!;
    // Plus the padding of its packed weight: coef [6, 1] is packed as [6, 16] (packed-weights.ts).
    expect(sizes[linear]).toBe(128 * 1024 + 2 * modelBytes(Number(linear.slice(1)) + 1).length + 6 * 15 * 4);
  });

  it('answers 503 MODEL_TOO_LARGE for a model estimated bigger than the whole cache', async () => {
    const big = buildMlpModel({ nFeatures: 6, hidden: 40_000 });
    expect((await t.request('POST', '/v1/models/too-big/versions', { body: artifactForm(big.bytes) })).status).toBe(201);
    const res = await t.request('POST', '/v1/predict', { body: { model: 'too-big', inputs: { float_input: [ROW] } } });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'MODEL_TOO_LARGE', details: { maxBytes: MIB } });
    // Not ready either: it could never serve under this bound.
    const ready = await t.request('GET', '/v2/models/too-big/ready');
    expect([ready.status, ready.body.error?.code]).toEqual([503, 'MODEL_TOO_LARGE']);
    expect((await t.request('GET', '/v2/models/b1/ready')).status).toBe(200);
  });

  it('refuses before loading a model too big only with the padding of its packed weights, evicting nothing', async () => {
    // MLP 6→10,000→1: 128 KiB + 2 × its 320 KB file fits in 1 MiB, the padding of W2 [10,000, 1] (0.6 MB) does not.
    const padded = buildMlpModel({ nFeatures: 6, hidden: 10_000 });
    expect(128 * 1024 + 2 * padded.bytes.length).toBeLessThan(MIB);
    expect((await t.request('POST', '/v1/models/padded-big/versions', { body: artifactForm(padded.bytes) })).status).toBe(201);
    const before = await cacheOf(t);
    const res = await t.request('POST', '/v1/predict', { body: { model: 'padded-big', inputs: { float_input: [ROW] } } });
    expect([res.status, res.body.error?.code]).toEqual([503, 'MODEL_TOO_LARGE']);
    expect(res.body.error.details.estimatedBytes).toBe(128 * 1024 + 2 * padded.bytes.length + 10_000 * 15 * 4);
    const after = await cacheOf(t);
    expect([after.loaded, after.evictions]).toEqual([before.loaded, before.evictions]);
  });
});
