import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The "done when": two tenants register models of the same name and never see,
 * predict with, or evict each other's; a revoked key stops working at once.
 */
describe('two tenants side by side', () => {
  let t: TestApp;
  const keys: Record<'a' | 'b', { publisher: string; scorer: string; scorerId: string; tenantId: string }> = {} as never;
  const as = (key: string, method: string, p: string, body?: unknown) => t.request(method, p, { body, headers: { authorization: `Bearer ${key}` } });
  // Tenant a's models add 100 to the first feature, tenant b's add 200: the answer tells whose ran.
  const modelOf = (tenant: 'a' | 'b') => buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias: tenant === 'a' ? 100 : 200 }).bytes;
  const predict = (key: string, model: string) => as(key, 'POST', '/v1/predict', { model, inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } });

  beforeAll(async () => {
    t = await startTestApp({ MMS_CACHE_MAX_MODELS: '6', MMS_TENANT_CACHE_SHARE: '0.5' });
    for (const tenant of ['a', 'b'] as const) {
      const created = await as(ROOT_TOKEN, 'POST', '/v1/tenants', { name: `shop-${tenant}` });
      const tenantId = created.body.id;
      const publisher = (await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantId}/keys`, { role: 'publisher' })).body.key;
      const scorer = (await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantId}/keys`, { role: 'scorer' })).body;
      keys[tenant] = { publisher, scorer: scorer.key, scorerId: scorer.id, tenantId };
      for (const name of ['demand-north-0042', 'demand-north-0043']) {
        expect((await as(publisher, 'POST', `/v1/models/${name}/versions`, artifactForm(modelOf(tenant)))).status).toBe(201);
      }
    }
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('serves each tenant its own model of the same name', async () => {
    expect((await predict(keys.a.scorer, 'demand-north-0042')).body.outputs.variable[0][0]).toBeCloseTo(101, 4);
    expect((await predict(keys.b.scorer, 'demand-north-0042')).body.outputs.variable[0][0]).toBeCloseTo(201, 4);
  });

  it("never shows one tenant the other's models or cache entries", async () => {
    expect((await as(keys.b.publisher, 'POST', '/v1/models/only-b/versions', artifactForm(modelOf('b')))).status).toBe(201);
    expect((await predict(keys.a.scorer, 'only-b')).status).toBe(404);
    expect((await as(keys.a.scorer, 'GET', '/v1/models/only-b')).status).toBe(404);
    const cacheOfA = await as(keys.a.publisher, 'GET', '/v1/cache');
    expect(cacheOfA.body.models.every((m: { tenantId?: string; model: string }) => m.tenantId === undefined && m.model !== 'only-b')).toBe(true);
  });

  it("does not let one tenant's traffic evict the other's models", async () => {
    for (const name of ['demand-north-0042', 'demand-north-0043']) expect((await predict(keys.a.scorer, name)).status).toBe(200);
    // b floods a cache of 6 with 10 models; with a share of one half, a's two stay loaded
    for (let i = 0; i < 10; i++) {
      expect((await as(keys.b.publisher, 'POST', `/v1/models/flood-${i}/versions`, artifactForm(modelOf('b')))).status).toBe(201);
      expect((await predict(keys.b.scorer, `flood-${i}`)).status).toBe(200);
    }
    const ready = async (key: string) => {
      const cache = await as(key, 'GET', '/v1/cache');
      return { cache: cache.body, loaded: (cache.body.models as Array<{ state: string; model: string }>).filter((m) => m.state === 'ready').map((m) => m.model).sort() };
    };
    const a = await ready(keys.a.publisher);
    expect(a.loaded).toEqual(['demand-north-0042', 'demand-north-0043']);
    expect(a.cache.evictions).toBe(0);
    expect(a.cache.limits).toEqual({ maxBytes: expect.any(Number), maxModels: 6, share: 0.5 });
    // b may use the room a leaves free (a share only decides who gives room back when the cache is full)...
    expect((await ready(keys.b.publisher)).loaded).toHaveLength(4);
    // ...and gives it back when a, within its share, needs it.
    expect((await as(keys.a.publisher, 'POST', '/v1/models/demand-north-0044/versions', artifactForm(modelOf('a')))).status).toBe(201);
    expect((await predict(keys.a.scorer, 'demand-north-0044')).status).toBe(200);
    expect((await ready(keys.a.publisher)).loaded).toEqual(['demand-north-0042', 'demand-north-0043', 'demand-north-0044']);
    expect((await ready(keys.b.publisher)).loaded).toHaveLength(3);
    expect((await ready(keys.a.publisher)).cache.evictions).toBe(0);
  });

  it("does not let one tenant pin past its share, nor tell it the other's pins", async () => {
    // a, within its share, holds 0042..0044 (the test above) and pins one of them.
    expect((await as(keys.a.publisher, 'POST', '/v1/models/demand-north-0042/load', { pin: true })).body.pinned).toBe(true);
    // b may pin up to its share, 3 of the 6 models...
    for (let i = 0; i < 3; i++) expect((await as(keys.b.publisher, 'POST', `/v1/models/flood-${i}/load`, { pin: true })).body.pinned).toBe(true);
    // ...not a fourth, though the cache's own bound has room for one more pin; the answer counts b's pins only.
    const fourth = await as(keys.b.publisher, 'POST', '/v1/models/flood-3/load', { pin: true });
    expect([fourth.status, fourth.body.error.code]).toEqual([409, 'PIN_LIMIT_EXCEEDED']);
    expect(fourth.body.error.details).toEqual({ pinnedModels: 3, pinnedBytes: expect.any(Number), maxModels: 3, maxBytes: expect.any(Number), share: 0.5 });
    expect(fourth.body.error.message).toContain('share');
    const loadedOfA = (await as(keys.a.publisher, 'GET', '/v1/cache')).body.models.filter((m: { state: string }) => m.state === 'ready').map((m: { model: string }) => m.model);
    expect(loadedOfA.sort()).toEqual(['demand-north-0042', 'demand-north-0043', 'demand-north-0044']);
    for (let i = 0; i < 3; i++) expect((await as(keys.b.publisher, 'POST', `/v1/models/flood-${i}/load`, { pin: false })).body.pinned).toBe(false);
    expect((await as(keys.a.publisher, 'POST', '/v1/models/demand-north-0042/load', { pin: false })).body.pinned).toBe(false);
  });

  it("never lets one tenant's batch job read the other's files, nor the platform's own", async () => {
    const job = (uri: string) => ({
      input: { uri, format: 'csv' },
      route: { by: 'model', column: 'model' },
      features: ['a', 'b', 'c', 'd', 'e', 'f'],
      passthrough: ['id'],
      output: { format: 'csv' },
    });
    const rows = 'id,model,a,b,c,d,e,f\nsecret-1,demand-north-0042,1,0,0,0,0,0\n';
    // Each tenant's inputs in a folder named after it; a file outside every tenant's folder is shared.
    for (const rel of ['shop-a/sales.csv', 'shared/sales.csv']) {
      fs.mkdirSync(path.dirname(path.join(t.dataDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(t.dataDir, rel), rows);
    }
    const own = await as(keys.a.publisher, 'POST', '/v1/batch-jobs', job('shop-a/sales.csv'));
    expect(own.status).toBe(202);
    let done = own.body;
    for (let i = 0; i < 200 && !['succeeded', 'failed'].includes(done.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = (await as(keys.a.publisher, 'GET', `/v1/batch-jobs/${own.body.id}`)).body;
    }
    expect(done.status).toBe('succeeded');
    const output = done.output.location as string; // batch/<tenant a>/<job>/output-1/output.csv
    expect(fs.existsSync(path.join(t.dataDir, output))).toBe(true);
    for (const uri of [output, 'token-signing.key', 'root-token.sha256']) {
      const res = await as(keys.b.publisher, 'POST', '/v1/batch-jobs', job(uri));
      expect([uri, res.status, res.body.error?.code]).toEqual([uri, 400, 'INVALID_INPUT_URI']);
    }
    // a's folder answers b as a folder named after no tenant does: no answer tells b which names are tenants.
    const answer = async (uri: string) => {
      const res = await as(keys.b.publisher, 'POST', '/v1/batch-jobs', job(uri));
      return [res.status, res.body.error?.code, res.body.error?.message.replace(uri, '…')];
    };
    const nobody = await answer('shop-nobody/sales.csv');
    expect(nobody.slice(0, 2)).toEqual([400, 'INPUT_NOT_FOUND']);
    for (const uri of ['shop-a/sales.csv', 'shop-a/missing.csv']) expect([uri, ...(await answer(uri))]).toEqual([uri, ...nobody]);
    expect((await as(keys.b.publisher, 'POST', '/v1/batch-jobs', job('shared/sales.csv'))).status).toBe(202);
    // No tenant can be named after the platform's own folders there.
    for (const name of ['pg', 'batch']) {
      const res = await as(ROOT_TOKEN, 'POST', '/v1/tenants', { name });
      expect([res.status, res.body.error.code, res.body.error.message]).toEqual([400, 'INVALID_REQUEST', expect.stringContaining('reserved')]);
    }
  });

  it('stops a revoked key at once', async () => {
    expect((await predict(keys.a.scorer, 'demand-north-0042')).status).toBe(200);
    expect((await as(ROOT_TOKEN, 'DELETE', `/v1/tenants/${keys.a.tenantId}/keys/${keys.a.scorerId}`)).status).toBe(204);
    expect((await predict(keys.a.scorer, 'demand-north-0042')).status).toBe(401);
  });
});
