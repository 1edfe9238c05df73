import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp, TestResponse } from '../support/test-app';

jest.setTimeout(180_000);

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';
const MAX_MODELS = 20;
const MANY = 150;

/** y = sum(x) + bias, exact in float32 for small integer inputs and a bias of .5 steps. */
const linear = (bias: number) => buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias });

/** Runs `work` over `items` with at most `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** The series of one metric in Prometheus text, with their labels. */
function series(text: string, metric: string): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .map((line) => {
      const labels: Record<string, string> = {};
      for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]] = m[2];
      return { labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) };
    });
}

describe('operations over HTTP: metrics, logs, feedback and quality', () => {
  let t: TestApp;
  const tenants = { a: '', b: '' };
  const keys = { aScorer: '', aNarrow: '', bScorer: '', aAdmin: '' };

  const as = (key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    t.request(method, path, { body, headers: { authorization: `Bearer ${key}`, ...headers } });
  const ok = (res: TestResponse, status = 200) => {
    if (res.status !== status) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const upload = async (name: string, bytes: Buffer, tenant?: string) =>
    ok(await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes), headers: tenant ? { 'x-tenant': tenant } : {} }), 201);
  const scrape = async (token = ROOT_TOKEN) => {
    const res = await t.request('GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, text: typeof res.body === 'string' ? res.body : JSON.stringify(res.body), headers: res.headers };
  };

  beforeAll(async () => {
    t = await startTestApp({ MMS_METRICS_MAX_MODELS: String(MAX_MODELS), MMS_METRICS_TOKEN: METRICS_TOKEN, LOG_FORMAT: 'json', MMS_WORKERS: '2' });
    for (const name of ['a', 'b'] as const) tenants[name] = ok(await t.request('POST', '/v1/tenants', { body: { name: `ops-${name}` } }), 201).id;
    const key = async (tenant: string, role: string, models?: string[]) => ok(await t.request('POST', `/v1/tenants/${tenant}/keys`, { body: { role, ...(models ? { models } : {}) } }), 201).key as string;
    keys.aScorer = await key(tenants.a, 'scorer');
    keys.aNarrow = await key(tenants.a, 'scorer', ['other-*']);
    keys.aAdmin = await key(tenants.a, 'admin');
    keys.bScorer = await key(tenants.b, 'scorer');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('GET /metrics', () => {
    it('answers only the root credential or MMS_METRICS_TOKEN', async () => {
      expect((await t.request('GET', '/metrics', { headers: { authorization: '' } })).status).toBe(401);
      const wrong = await t.request('GET', '/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('UNAUTHENTICATED');
      // A tenant never sees every tenant's figures: its valid key is refused (403), not unknown (401).
      for (const key of [keys.aAdmin, keys.aScorer]) {
        const refused = await t.request('GET', '/metrics', { headers: { authorization: `Bearer ${key}` } });
        expect(refused.status).toBe(403);
        expect(refused.body.error.code).toBe('FORBIDDEN');
        expect(refused.body.error.message).toContain('root credential or MMS_METRICS_TOKEN');
      }
      const byToken = await scrape(METRICS_TOKEN);
      expect(byToken.status).toBe(200);
      expect(byToken.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect((await scrape()).status).toBe(200);
    });

    it('labels only models: names that are invalid, unknown or not the caller\'s get no series of their own', async () => {
      await upload('labelled-real', linear(0.5).bytes, tenants.a);
      ok(await as(keys.aScorer, 'POST', '/v1/predict', { model: 'labelled-real', inputs: { float_input: [[1, 2, 3, 4, 5, 6]] } }));
      const junk = ['LABELLED-REAL', ' labelled-real', 'a/b', '__proto__', 'nope-not-here'];
      for (const model of junk) expect((await as(keys.aScorer, 'POST', '/v1/predict', { model, inputs: { float_input: [[1, 2, 3, 4, 5, 6]] } })).status).toBeGreaterThanOrEqual(400);
      for (const path of ['/v2/models/%F0%9F%9A%80/ready', '/v2/models/nope-not-here/ready', '/v2/models/rankNaN']) expect((await as(keys.aScorer, 'GET', path)).status).toBeGreaterThanOrEqual(400);
      // Refused before any model is looked up: valid names of no model.
      expect((await as(keys.aScorer, 'POST', '/v1/predict', { model: 'junk-no-inputs' })).status).toBe(400);
      expect((await as(keys.aAdmin, 'POST', '/v1/models/junk-load/load', { bogus: 1 })).status).toBe(400);
      // A scorer whose globs do not match it does not see it (404, as a missing model).
      expect((await as(keys.aNarrow, 'POST', '/v1/predict', { model: 'labelled-real', inputs: { float_input: [[1, 2, 3, 4, 5, 6]] } })).status).toBe(404);
      const { text } = await scrape(METRICS_TOKEN);
      const labelled = new Set(series(text, 'mms_http_requests_total').map((s) => s.labels.model));
      expect(labelled.has('labelled-real')).toBe(true);
      for (const name of [...junk, '🚀', 'rankNaN', 'junk-no-inputs', 'junk-load']) expect({ name, labelled: labelled.has(name) }).toEqual({ name, labelled: false });
      // That request is counted, without the model it asked for.
      expect(series(text, 'mms_http_requests_total').filter((s) => s.labels.status === '404' && s.labels.model === 'labelled-real')).toEqual([]);
      expect(series(text, 'mms_http_requests_total').filter((s) => s.labels.status === '404' && s.labels.route === '/v1/predict' && s.labels.tenant === tenants.a && s.labels.model === '')).not.toEqual([]);
    });

    it(`keeps series bounded: traffic over ${MANY} models with N = ${MAX_MODELS} shows at most ${MAX_MODELS + 1} model label values`, async () => {
      const names = Array.from({ length: MANY }, (_, i) => `many-${String(i).padStart(3, '0')}`);
      const bytes = linear(0.5).bytes;
      await inParallel(names, 8, async (name) => void (await upload(name, bytes)));
      await inParallel([...names, ...names], 16, async (name) => {
        ok(await t.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: [[1, 2, 3, 4, 5, 6]] } } }));
      });
      const { text } = await scrape(METRICS_TOKEN);
      // This test's own traffic (the one before it sent tenant a's).
      const predicts = series(text, 'mms_http_requests_total').filter((s) => s.labels.route === '/v1/predict' && s.labels.tenant !== tenants.a);
      const models = new Set(predicts.map((s) => s.labels.model));
      expect(models.size).toBeLessThanOrEqual(MAX_MODELS + 1);
      expect(models.has('other')).toBe(true);
      expect(predicts.length).toBeLessThanOrEqual(MAX_MODELS + 3);
      // every prediction is counted: labelled or under "other"
      expect(predicts.filter((s) => s.labels.status === '200').reduce((sum, s) => sum + s.value, 0)).toBe(2 * MANY);
      expect(series(text, 'mms_http_request_duration_seconds_count').filter((s) => s.labels.route === '/v1/predict' && s.labels.tenant !== tenants.a)).toHaveLength(predicts.length);
      expect(series(text, 'mms_metrics_labelled_models')[0].value).toBeLessThanOrEqual(MAX_MODELS);
      // the cache, workers, health and process figures are there too
      expect(series(text, 'mms_cache_loads_total')[0].value).toBeGreaterThanOrEqual(MANY);
      expect(series(text, 'mms_cache_hits_total')[0].value).toBeGreaterThanOrEqual(MANY);
      expect(series(text, 'mms_cache_models')[0].value).toBeGreaterThanOrEqual(MANY);
      expect(series(text, 'mms_model_load_seconds_count')[0].value).toBeGreaterThan(0);
      expect(series(text, 'mms_worker_queue_depth')).toHaveLength(2);
      expect(series(text, 'mms_health_check_up').find((s) => s.labels.check === 'database')?.value).toBe(1);
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'mms_build_info', 'mms_batch_rows_total', 'mms_microbatch_requests_bucket']) {
        expect(text).toContain(name);
      }
      // route templates, never raw URLs
      expect(text).not.toMatch(/route="\/v1\/models\/many-/);
    });
  });

  describe('feedback and quality', () => {
    const MODEL = 'store-0042';
    const day = (d: number) => `0042|2026-11-${20 + d}`;
    // inputs per day; y = sum + 0.5 (version 1) or + 10.5 (version 2)
    const rows = { 1: [1, 0, 4, 120, 98, 14], 2: [2, 1, 3, 110, 100, 15], 3: [3, 0, 5, 130, 90, 12] } as const;
    const ids: Record<string, string> = {};
    let foreignId = '';

    beforeAll(async () => {
      await upload(MODEL, linear(0.5).bytes, tenants.a);
      await upload(MODEL, linear(10.5).bytes, tenants.a);
      await t.request('PUT', `/v1/models/${MODEL}/aliases/production`, { body: { version: 1 }, headers: { 'x-tenant': tenants.a } });
      for (const d of [1, 2, 3] as const) {
        // the routing key as a header on day 1 and 2, in the body on day 3
        const body = { model: MODEL, inputs: { float_input: [rows[d]] }, ...(d === 3 ? { key: day(d) } : {}) };
        const answer = ok(await as(keys.aScorer, 'POST', '/v1/predict', body, d === 3 ? {} : { 'x-routing-key': day(d) }));
        expect(answer.version).toBe(1);
        ids[`v1d${d}`] = answer.predictionId;
      }
      expect(ok(await as(keys.aScorer, 'POST', '/v1/predict', { model: MODEL, version: 2, inputs: { float_input: [rows[1]] } })).outputs).toEqual({ variable: [[247.5]] });
      ids.v2d1 = ok(await as(keys.aScorer, 'POST', '/v1/predict', { model: MODEL, version: 2, inputs: { float_input: [rows[1]] } })).predictionId;
      await upload(MODEL, linear(0.5).bytes, tenants.b);
      foreignId = ok(await as(keys.bScorer, 'POST', '/v1/predict', { model: MODEL, inputs: { float_input: [rows[1]] } })).predictionId;
    });

    it('records an actual by predictionId right after the prediction, and answers its error', async () => {
      // predicted 237.5, actual 250
      const res = ok(await as(keys.aScorer, 'POST', '/v1/feedback', { predictionId: ids.v1d1, actual: 250 }));
      expect(res).toEqual({ predictionId: ids.v1d1, model: MODEL, version: 1, values: 1, mae: 12.5, mape: 0.05, bias: -12.5 });
    });

    it('records an actual by model and the routing key (header or body field key) of the prediction', async () => {
      const res = ok(await as(keys.aScorer, 'POST', '/v1/feedback', { model: MODEL, key: day(2), actual: [[220]] }));
      expect(res).toMatchObject({ predictionId: ids.v1d2, version: 1, mae: 11.5, bias: 11.5 });
    });

    it('takes many items, with an error in the slot of each one that fails', async () => {
      const res = ok(
        await as(keys.aScorer, 'POST', '/v1/feedback', {
          items: [
            { model: MODEL, key: day(3), actual: { variable: [[240.5]] } },
            { predictionId: ids.v2d1, actual: 250 },
            { predictionId: foreignId, actual: 1 },
            { predictionId: randomUUID(), actual: 1 },
            { predictionId: ids.v1d1, actual: [[1], [2]] },
            { predictionId: ids.v1d1 },
          ],
        }),
      );
      expect(res.recorded).toBe(2);
      expect(res.failed).toBe(4);
      expect(res.results[0]).toMatchObject({ predictionId: ids.v1d3, mae: 0 });
      expect(res.results[1]).toMatchObject({ predictionId: ids.v2d1, version: 2, mae: 2.5, bias: -2.5 });
      expect(res.results.slice(2).map((r: { error: { code: string } }) => r.error.code)).toEqual(['PREDICTION_NOT_FOUND', 'PREDICTION_NOT_FOUND', 'INVALID_FEEDBACK', 'INVALID_REQUEST']);
    });

    it('answers MAE, MAPE, bias and RMSE per version as computed by hand', async () => {
      const res = ok(await as(keys.aScorer, 'GET', `/v1/models/${MODEL}/quality?window=1d`));
      expect(res.model).toBe(MODEL);
      expect(res.window).toBe('1d');
      const [v1, v2] = res.versions;
      // v1: errors -12.5, +11.5, 0 on actuals 250, 220, 240.5
      expect(v1).toMatchObject({ version: 1, count: 3, values: 3, mae: 8 });
      expect(v1.bias).toBeCloseTo(-1 / 3, 10);
      expect(v1.mape).toBeCloseTo((12.5 / 250 + 11.5 / 220) / 3, 10);
      expect(v1.rmse).toBeCloseTo(Math.sqrt((12.5 ** 2 + 11.5 ** 2) / 3), 10);
      // v2: 247.5 against 250
      expect(v2).toMatchObject({ version: 2, count: 1, values: 1, mae: 2.5, bias: -2.5, mape: 0.01, rmse: 2.5 });
      expect(res.versions).toHaveLength(2);
      // the default window (7 days) holds the same, a bad one is a 400
      expect(ok(await as(keys.aScorer, 'GET', `/v1/models/${MODEL}/quality`)).versions).toEqual(res.versions);
      expect((await as(keys.aScorer, 'GET', `/v1/models/${MODEL}/quality?window=7w`)).status).toBe(400);
      expect((await as(keys.aScorer, 'GET', `/v1/models/${MODEL}/quality?since=1d`)).status).toBe(400);
    });

    it('a later actual for the same prediction replaces the earlier one', async () => {
      ok(await as(keys.aScorer, 'POST', '/v1/feedback', { predictionId: ids.v2d1, actual: 247.5 }));
      const [, v2] = ok(await as(keys.aScorer, 'GET', `/v1/models/${MODEL}/quality`)).versions;
      expect(v2).toMatchObject({ count: 1, mae: 0, bias: 0 });
    });

    it('keeps tenants apart: a foreign predictionId or model answers 404 like a missing one', async () => {
      const foreign = await as(keys.bScorer, 'POST', '/v1/feedback', { predictionId: ids.v1d1, actual: 1 });
      const missing = await as(keys.bScorer, 'POST', '/v1/feedback', { predictionId: randomUUID(), actual: 1 });
      expect(foreign.status).toBe(404);
      expect(missing.status).toBe(404);
      expect(foreign.body.error.code).toBe('PREDICTION_NOT_FOUND');
      expect((await as(keys.bScorer, 'POST', '/v1/feedback', { model: MODEL, key: day(2), actual: 1 })).status).toBe(404);
      // B has its own store-0042, without feedback: its quality is empty, not A's
      expect(ok(await as(keys.bScorer, 'GET', `/v1/models/${MODEL}/quality`)).versions).toEqual([]);
      expect((await as(keys.bScorer, 'GET', '/v1/models/only-in-a/quality')).status).toBe(404);
      // a scorer limited to other-* sees neither the prediction nor the model
      expect((await as(keys.aNarrow, 'POST', '/v1/feedback', { predictionId: ids.v1d1, actual: 1 })).status).toBe(404);
      expect((await as(keys.aNarrow, 'GET', `/v1/models/${MODEL}/quality`)).status).toBe(404);
      expect((await t.request('POST', '/v1/feedback', { body: { predictionId: ids.v1d1, actual: 1 }, headers: { authorization: '' } })).status).toBe(401);
    });

    it('refuses an actual that does not fit the prediction with a 400', async () => {
      const res = await as(keys.aScorer, 'POST', '/v1/feedback', { predictionId: ids.v1d2, actual: { p90: [[1]] } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_FEEDBACK');
    });

    it('shows the feedback in /metrics for alerting on accuracy', async () => {
      const { text } = await scrape();
      const items = series(text, 'mms_feedback_items_total').filter((s) => s.labels.tenant === tenants.a);
      expect(items.find((s) => s.labels.outcome === 'recorded')?.value).toBeGreaterThanOrEqual(5);
      const values = series(text, 'mms_feedback_values_total').filter((s) => s.labels.tenant === tenants.a);
      expect(values.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(5);
      expect(series(text, 'mms_prediction_log_written_total')[0].value).toBeGreaterThanOrEqual(2 * MANY);
    });
  });

  describe('logs', () => {
    it('writes JSON request lines with request id, tenant, model, version and latency, and never a credential', async () => {
      const requestId = `trace-${randomUUID()}`;
      const res = await as(keys.aScorer, 'POST', '/v1/predict', { model: 'store-0042', inputs: { float_input: [[1, 2, 3, 4, 5, 6]] } }, { 'x-request-id': requestId });
      expect(res.headers.get('x-request-id')).toBe(requestId);
      expect((await t.request('GET', '/health/live')).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const lines = t
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThan(10);
      expect(lines.find((l) => (l.msg as string).startsWith('listening on http://'))).toMatchObject({ level: 'info', context: 'Bootstrap' });
      const line = lines.find((l) => l.reqId === requestId);
      expect(line).toMatchObject({
        level: 'info',
        msg: 'request completed',
        method: 'POST',
        route: '/v1/predict',
        status: 200,
        tenant: tenants.a,
        model: 'store-0042',
        version: '1',
        predictionId: res.body.predictionId,
      });
      expect(typeof line!.latencyMs).toBe('number');
      expect(typeof line!.time).toBe('string');
      const output = t.output();
      for (const secret of [ROOT_TOKEN, METRICS_TOKEN, keys.aScorer, keys.bScorer, keys.aAdmin, keys.aScorer.slice('mmsk_'.length + 17) /* the secret part */]) expect(output).not.toContain(secret);
      // every line of the output is JSON (besides the root token banner, which this app does not print)
      expect(output.split('\n').filter((l) => l.trim() && !l.startsWith('{'))).toEqual([]);
    });
  });

  describe('clients that leave before the answer', () => {
    /** Sends the headers and half of a body, then closes the connection. */
    const leaveMidBody = (path: string, requestId: string, body: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1', () => {
          socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.aScorer}\r\nContent-Type: application/json\r\nx-request-id: ${requestId}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, body.length / 2)}`);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    const lineOf = async (requestId: string) => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const line = t
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.reqId === requestId);
        if (line) return line;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return undefined;
    };

    it('logs and counts them as 499 (client closed request), on the /v1/predict fast lane and on Fastify routes alike', async () => {
      const before = (text: string, route: string) => series(text, 'mms_http_requests_total').filter((s) => s.labels.status === '499' && s.labels.route === route).reduce((sum, s) => sum + s.value, 0);
      const start = (await scrape()).text;
      const body = JSON.stringify({ model: 'store-0042', inputs: { float_input: [[1, 2, 3, 4, 5, 6]] } });
      const oip = JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
      for (const [path, sent, route] of [
        ['/v1/predict', body, '/v1/predict'],
        ['/v2/models/store-0042/infer', oip, '/v2/models/:name/infer'],
      ]) {
        const requestId = `gone-${randomUUID()}`;
        await leaveMidBody(path, requestId, sent);
        expect(await lineOf(requestId)).toMatchObject({ msg: 'request completed', method: 'POST', route, status: 499, tenant: tenants.a });
        const end = (await scrape()).text;
        expect({ route, counted: before(end, route) - before(start, route) }).toEqual({ route, counted: 1 });
      }
    });
  });

  describe('health', () => {
    it('reports ready with every check and the loaded models', async () => {
      const res = await t.request('GET', '/health/ready', { headers: { authorization: '' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ready', checks: { database: true, migrations: true, modelStore: true }, failing: [] });
      expect(res.body.loadedModels).toBeGreaterThanOrEqual(1);
    });
  });
});

describe('the prediction log budget', () => {
  let t: TestApp;

  beforeAll(async () => {
    // One prediction a second is logged; the rest of a burst is not, and its ids say so.
    t = await startTestApp({ MMS_PREDICTION_LOG_MAX_PER_SECOND: '1' });
    const res = await t.request('POST', '/v1/models/budget-model/versions', { body: artifactForm(linear(0.5).bytes) });
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(res.body)}`);
  });

  afterAll(async () => {
    await t?.dispose();
  });

  it('logs what the budget allows, and feedback for a prediction beyond it says that it was not sampled', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => t.request('POST', '/v1/predict', { body: { model: 'budget-model', inputs: { float_input: [[1, 1, 1, 1, 1, 1]] } } })),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const outcomes = await Promise.all(answers.map((a) => t.request('POST', '/v1/feedback', { body: { predictionId: a.body.predictionId, actual: 6.5 } })));
    const recorded = outcomes.filter((o) => o.status === 200);
    const skipped = outcomes.filter((o) => o.status === 404);
    // One token a second: the burst gets one (two if the machine stalls it across a second).
    expect(recorded.length).toBeGreaterThanOrEqual(1);
    expect(recorded.length).toBeLessThanOrEqual(2);
    expect(recorded[0].body).toMatchObject({ model: 'budget-model', version: 1, mae: 0 });
    expect(skipped).toHaveLength(5 - recorded.length);
    for (const o of skipped) {
      expect(o.body.error).toMatchObject({ code: 'PREDICTION_NOT_FOUND', details: { reason: 'not_sampled' } });
      expect(o.body.error.message).toMatch(/not sampled into the prediction log/);
    }
    const metrics = await t.request('GET', '/metrics');
    expect(series(String(metrics.body), 'mms_prediction_log_skipped_total')[0].value).toBe(skipped.length);
  });
});
