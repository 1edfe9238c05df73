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
    const cacheOfA = await as(keys.a.publisher, 'GET', '/v1/cache');
    const loaded = cacheOfA.body.models.filter((m: { state: string }) => m.state === 'ready').map((m: { model: string }) => m.model);
    expect(loaded.sort()).toEqual(['demand-north-0042', 'demand-north-0043']);
    expect(cacheOfA.body.evictions).toBe(0);
  });

  it('stops a revoked key at once', async () => {
    expect((await predict(keys.a.scorer, 'demand-north-0042')).status).toBe(200);
    expect((await as(ROOT_TOKEN, 'DELETE', `/v1/tenants/${keys.a.tenantId}/keys/${keys.a.scorerId}`)).status).toBe(204);
    expect((await predict(keys.a.scorer, 'demand-north-0042')).status).toBe(401);
  });
});
