import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { buildLinearModel, defaultFixtures } from '../fixtures/onnx-builder';
import { buildZip, mlmodelHead } from '../support/mlflow-zip';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp, TestResponse } from '../support/test-app';

jest.setTimeout(120_000);

/** The secret part of `mmsk_<16-char prefix>_<secret>`. */
const secretOf = (key: string) => key.slice('mmsk_'.length + 17);

/**
 * Isolation and access control, walked over every route the service documents: who may call
 * what, and that a tenant never sees another tenant's anything.
 */
describe('tenants, keys, tokens and roles', () => {
  let t: TestApp;
  const model = defaultFixtures().linear.bytes;
  const tenants: Record<'a' | 'b', string> = { a: '', b: '' };
  const keys: Record<string, { id: string; key: string }> = {};

  const as = (credential: string | undefined, method: string, p: string, body?: unknown, extra: Record<string, string> = {}) =>
    t.request(method, p, { body, headers: { authorization: credential === undefined ? '' : `Bearer ${credential}`, ...extra } });
  const root = (method: string, p: string, body?: unknown) => as(ROOT_TOKEN, method, p, body);
  const upload = (credential: string, name: string) => as(credential, 'POST', `/v1/models/${name}/versions`, artifactForm(model));

  async function createKey(tenant: 'a' | 'b', role: string, name: string, models?: string[]) {
    const res = await root('POST', `/v1/tenants/${tenants[tenant]}/keys`, { role, ...(models ? { models } : {}) });
    expect(res.status).toBe(201);
    keys[name] = { id: res.body.id, key: res.body.key };
  }

  beforeAll(async () => {
    t = await startTestApp();
    for (const name of ['a', 'b'] as const) {
      const res = await root('POST', '/v1/tenants', { name: `tenant-${name}` });
      expect(res.status).toBe(201);
      tenants[name] = res.body.id;
    }
    await createKey('a', 'admin', 'aAdmin');
    await createKey('a', 'publisher', 'aPublisher');
    await createKey('a', 'scorer', 'aScorer');
    await createKey('a', 'scorer', 'aDemandScorer', ['demand-*']);
    await createKey('a', 'publisher', 'aRevoked');
    await createKey('b', 'admin', 'bAdmin');
    await createKey('b', 'publisher', 'bPublisher');
    for (const name of ['demand-1', 'only-a']) expect((await upload(keys.aPublisher.key, name)).status).toBe(201);
    expect((await upload(keys.bPublisher.key, 'demand-1')).status).toBe(201);
    expect((await as(keys.aAdmin.key, 'DELETE', `/v1/tenants/${tenants.a}/keys/${keys.aRevoked.id}`)).status).toBe(204);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('tenants and keys', () => {
    it('creates tenants once per name and lists them for root only', async () => {
      expect((await root('POST', '/v1/tenants', { name: 'tenant-a' })).body.error.code).toBe('TENANT_EXISTS');
      expect((await root('POST', '/v1/tenants', { name: 'Bad Name' })).status).toBe(400);
      const list = await root('GET', '/v1/tenants');
      expect(list.body.items.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['default', 'tenant-a', 'tenant-b']));
    });

    it('shows a key once and never again', async () => {
      const listed = await as(keys.aAdmin.key, 'GET', `/v1/tenants/${tenants.a}/keys`);
      expect(listed.status).toBe(200);
      expect(listed.body.items.length).toBeGreaterThanOrEqual(5);
      for (const k of listed.body.items) {
        expect(k.key).toBeUndefined();
        for (const { key } of Object.values(keys)) expect(JSON.stringify(k)).not.toContain(secretOf(key));
      }
      expect(listed.body.items.find((k: { id: string }) => k.id === keys.aRevoked.id).revokedAt).not.toBeNull();
    });

    it('keeps only hashes of keys in the database files', () => {
      const secret = secretOf(keys.aAdmin.key);
      const dump = fs
        .readdirSync(t.dataDir, { recursive: true })
        .map((f) => path.join(t.dataDir, String(f)))
        .filter((f) => fs.statSync(f).isFile())
        .some((f) => fs.readFileSync(f).includes(secret));
      expect(dump).toBe(false);
    });

    it('validates key requests', async () => {
      const url = `/v1/tenants/${tenants.a}/keys`;
      expect((await root('POST', url, { role: 'owner' })).status).toBe(400);
      expect((await root('POST', url, { role: 'publisher', models: ['x-*'] })).status).toBe(400);
      expect((await root('POST', url, { role: 'scorer', models: ['Bad Glob!'] })).status).toBe(400);
      expect((await root('POST', url, { role: 'scorer', expiresAt: '2001-01-01T00:00:00Z' })).status).toBe(400);
      expect((await root('POST', url, { role: 'scorer', expiresAt: 'tomorrow' })).status).toBe(400);
      expect((await root('POST', `/v1/tenants/${randomUUID()}/keys`, { role: 'scorer' })).status).toBe(404);
    });

    it('stops a key that expires', async () => {
      const res = await root('POST', `/v1/tenants/${tenants.a}/keys`, { role: 'scorer', expiresAt: new Date(Date.now() + 1500).toISOString() });
      expect((await as(res.body.key, 'GET', '/v1/models')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2600));
      const after = await as(res.body.key, 'GET', '/v1/models');
      expect(after.status).toBe(401);
    });
  });

  describe('tokens', () => {
    it('exchanges a key for a short-lived token with the same tenant, role and scope', async () => {
      const res = await as(keys.aDemandScorer.key, 'POST', '/v1/auth/token');
      expect(res.status).toBe(200);
      expect(new Date(res.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
      expect((await as(res.body.token, 'GET', '/v1/models/demand-1')).status).toBe(200);
      expect((await as(res.body.token, 'GET', '/v1/models/only-a')).status).toBe(404);
      expect((await as(res.body.token, 'POST', '/v1/models/demand-9/versions', artifactForm(model))).status).toBe(403);
    });

    it('mints tokens from keys only', async () => {
      const token = (await as(keys.aScorer.key, 'POST', '/v1/auth/token')).body.token;
      expect((await as(token, 'POST', '/v1/auth/token')).status).toBe(400);
      expect((await root('POST', '/v1/auth/token')).status).toBe(400);
    });

    it('ends a key and every token made from it at once when the key is revoked', async () => {
      const created = await root('POST', `/v1/tenants/${tenants.a}/keys`, { role: 'publisher' });
      const token = (await as(created.body.key, 'POST', '/v1/auth/token')).body.token;
      expect((await as(token, 'GET', '/v1/models')).status).toBe(200);
      expect((await as(created.body.key, 'GET', '/v1/models')).status).toBe(200);
      expect((await root('DELETE', `/v1/tenants/${tenants.a}/keys/${created.body.id}`)).status).toBe(204);
      expect((await as(created.body.key, 'GET', '/v1/models')).status).toBe(401);
      expect((await as(token, 'GET', '/v1/models')).status).toBe(401);
      expect((await root('DELETE', `/v1/tenants/${tenants.a}/keys/${created.body.id}`)).status).toBe(404);
    });
  });

  describe('every documented route refuses bad credentials', () => {
    let routes: Array<{ method: string; path: string }> = [];
    const badCredentials: Record<string, () => Promise<string | undefined>> = {
      'no credential': async () => undefined,
      'a malformed one': async () => 'not a credential',
      'a forged key': async () => `mmsk_${'a'.repeat(16)}_${'B'.repeat(43)}`,
      'a forged token': async () => signToken(new TextEncoder().encode('x'.repeat(32)), { exp: Math.floor(Date.now() / 1000) + 600 }),
      'an expired token': async () => signToken(serverSecret(), { exp: Math.floor(Date.now() / 1000) - 5 }),
      'a tampered token': async () => {
        const token = (await as(keys.aScorer.key, 'POST', '/v1/auth/token')).body.token as string;
        const [h, p, s] = token.split('.');
        const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
        return [h, Buffer.from(JSON.stringify({ ...payload, role: 'admin' })).toString('base64url'), s].join('.');
      },
      'a revoked key': async () => keys.aRevoked.key,
      'the root token with a typo': async () => `${ROOT_TOKEN}x`,
    };

    function serverSecret(): Uint8Array {
      return Buffer.from(fs.readFileSync(path.join(t.dataDir, 'token-signing.key'), 'utf8').trim(), 'base64url');
    }

    function signToken(secret: Uint8Array, claims: { exp: number }): Promise<string> {
      return new SignJWT({ tid: tenants.a, role: 'admin', models: null })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(keys.aAdmin.id)
        .setIssuer('mms')
        .setAudience('mms-api')
        .setIssuedAt()
        .setExpirationTime(claims.exp)
        .sign(secret);
    }

    beforeAll(async () => {
      const docs = await t.request('GET', '/docs/json');
      routes = Object.entries(docs.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path: p })),
      );
      routes = routes.filter((r) => !r.path.includes('/health/'));
      expect(routes.length).toBeGreaterThan(15);
    });

    const concrete = (p: string) =>
      p
        .replace('{tenant}', tenants.a)
        .replace('{name}', 'demand-1')
        .replace('{version}', '1')
        .replace('{alias}', 'production')
        .replace('{id}', keys.aScorer.id);

    it.each(Object.keys(badCredentials))('answers 401 to %s on every route', async (kind) => {
      const credential = await badCredentials[kind]();
      const failures: string[] = [];
      for (const route of routes) {
        const res = await as(credential, route.method, concrete(route.path), route.method === 'GET' || route.method === 'DELETE' ? undefined : {});
        if (res.status !== 401 || res.body?.error?.code !== 'UNAUTHENTICATED') failures.push(`${route.method} ${route.path} → ${res.status}`);
      }
      expect(failures).toEqual([]);
    });

    it('answers 401 before reading a body, whatever the body is', async () => {
      // Without this order a caller with no credential could make the service parse up to
      // 32 MB of JSON, and would learn 400 or 415 instead of 401.
      const bodies = [
        { type: 'application/json', text: '{"inputs": [[1, 2' }, // not JSON
        { type: 'text/plain', text: 'hello' }, // a type no route takes
        { type: 'application/json', text: JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] }) },
      ];
      const withBody = routes.filter((r) => r.method !== 'GET');
      expect(withBody.map((r) => r.path)).toEqual(expect.arrayContaining(['/v2/models/{name}/infer', '/v1/models/{name}/invocations', '/v1/predict']));
      const failures: string[] = [];
      for (const credential of [undefined, await badCredentials['a forged key']()]) {
        for (const route of withBody) {
          for (const body of bodies) {
            const res = await fetch(`${t.baseUrl}${concrete(route.path)}`, {
              method: route.method,
              headers: { 'content-type': body.type, ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
              body: body.text,
            });
            const answer = (await res.json()) as { error?: { code?: string } };
            if (res.status !== 401 || answer.error?.code !== 'UNAUTHENTICATED') failures.push(`${route.method} ${route.path} (${body.type}) → ${res.status}`);
          }
        }
      }
      expect(failures).toEqual([]);
    });

    it('says why an expired token is refused', async () => {
      const res = await as(await badCredentials['an expired token'](), 'GET', '/v1/models');
      expect(res.body.error.message).toMatch(/expired/);
    });
  });

  describe('roles', () => {
    it.each([
      ['aScorer', 'POST', '/v1/models/demand-1/versions'],
      ['aScorer', 'PUT', '/v1/models/demand-1/aliases/production'],
      ['aScorer', 'DELETE', '/v1/models/demand-1'],
      ['aScorer', 'GET', '/v1/audit'],
      ['aPublisher', 'POST', '/v1/tenants/{a}/keys'],
      ['aPublisher', 'GET', '/v1/tenants/{a}/keys'],
      ['aAdmin', 'POST', '/v1/tenants'],
      ['aAdmin', 'GET', '/v1/tenants'],
      ['aAdmin', 'PATCH', '/v1/tenants/{a}'],
    ])('refuses %s on %s %s with 403', async (key, method, p) => {
      const res = await as(keys[key].key, method, p.replace('{a}', tenants.a), method === 'POST' || method === 'PUT' || method === 'PATCH' ? { version: 1, role: 'scorer', name: 'x' } : undefined);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    });

    it('lets each role do its own work', async () => {
      expect((await as(keys.aScorer.key, 'GET', '/v1/models/demand-1')).status).toBe(200);
      expect((await as(keys.aPublisher.key, 'PUT', '/v1/models/demand-1/aliases/production', { version: 1 })).status).toBe(200);
      expect((await as(keys.aAdmin.key, 'POST', `/v1/tenants/${tenants.a}/keys`, { role: 'scorer' })).status).toBe(201);
      expect((await as(keys.aAdmin.key, 'GET', `/v1/tenants/${tenants.a}`)).body.name).toBe('tenant-a');
    });
  });

  describe('isolation between tenants', () => {
    const withoutVolatile = (res: TestResponse) => ({ status: res.status, code: res.body.error?.code });

    it('gives two tenants their own model of the same name', async () => {
      const a = await as(keys.aScorer.key, 'GET', '/v1/models/demand-1');
      const b = await as(keys.bAdmin.key, 'GET', '/v1/models/demand-1');
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.aliases).toEqual({ production: 1 });
      expect(b.body.aliases).toEqual({});
    });

    it.each([
      ['GET', '/v1/models/{m}'],
      ['GET', '/v1/models/{m}/versions/1'],
      ['PATCH', '/v1/models/{m}'],
      ['PUT', '/v1/models/{m}/aliases/production'],
      ['DELETE', '/v1/models/{m}/aliases/production'],
      ['DELETE', '/v1/models/{m}/versions/1'],
      ['DELETE', '/v1/models/{m}'],
    ])("answers another tenant's %s %s exactly like a missing model", async (method, p) => {
      const body = method === 'PATCH' ? { description: 'x' } : method === 'PUT' ? { version: 1 } : undefined;
      const foreign = await as(keys.bPublisher.key, method, p.replace('{m}', 'only-a'), body);
      const missing = await as(keys.bPublisher.key, method, p.replace('{m}', 'never-existed'), body);
      expect(withoutVolatile(foreign)).toEqual(withoutVolatile(missing));
      expect(foreign.status).toBe(404);
      expect((await as(keys.aScorer.key, 'GET', '/v1/models/only-a')).status).toBe(200);
    });

    it("never lists another tenant's models", async () => {
      const b = await as(keys.bAdmin.key, 'GET', '/v1/models');
      expect(b.body.items.map((m: { name: string }) => m.name)).toEqual(['demand-1']);
    });

    it("hides another tenant's tenant record, keys and audit log", async () => {
      expect((await as(keys.bAdmin.key, 'GET', `/v1/tenants/${tenants.a}`)).status).toBe(404);
      expect((await as(keys.bAdmin.key, 'GET', `/v1/tenants/${tenants.a}/keys`)).status).toBe(404);
      expect((await as(keys.bAdmin.key, 'POST', `/v1/tenants/${tenants.a}/keys`, { role: 'admin' })).status).toBe(404);
      expect((await as(keys.bAdmin.key, 'DELETE', `/v1/tenants/${tenants.a}/keys/${keys.aScorer.id}`)).status).toBe(404);
      const audit = await as(keys.bAdmin.key, 'GET', '/v1/audit?limit=1000');
      expect(audit.body.items.every((e: { tenantId: string }) => e.tenantId === tenants.b)).toBe(true);
      expect((await as(keys.aScorer.key, 'GET', '/v1/models/demand-1')).status).toBe(200);
    });

    it('lets root act in a tenant with the x-tenant header', async () => {
      const res = await as(ROOT_TOKEN, 'GET', '/v1/models', undefined, { 'x-tenant': 'tenant-b' });
      expect(res.body.items.map((m: { name: string }) => m.name)).toEqual(['demand-1']);
      expect((await as(ROOT_TOKEN, 'GET', '/v1/models', undefined, { 'x-tenant': 'nobody' })).status).toBe(404);
    });
  });

  describe('a scorer limited to model globs', () => {
    it('sees and lists only the models its globs match', async () => {
      expect((await as(keys.aDemandScorer.key, 'GET', '/v1/models/demand-1')).status).toBe(200);
      expect((await as(keys.aDemandScorer.key, 'GET', '/v1/models/only-a')).status).toBe(404);
      const list = await as(keys.aDemandScorer.key, 'GET', '/v1/models');
      expect(list.body.items.map((m: { name: string }) => m.name)).toEqual(['demand-1']);
    });
  });

  describe('audit log', () => {
    it('records who changed what, newest first', async () => {
      const res = await as(keys.aAdmin.key, 'GET', '/v1/audit?limit=1000');
      expect(res.status).toBe(200);
      const actions = res.body.items.map((e: { action: string }) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['key.create', 'key.revoke', 'model.version.create', 'model.alias.set']));
      const upload = res.body.items.find((e: { action: string; target: string }) => e.action === 'model.version.create' && e.target === 'models/only-a/versions/1');
      expect(upload.principal).toBe(`key:${keys.aPublisher.id}`);
      const ids = res.body.items.map((e: { id: string }) => Number(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => y - x));
      expect((await as(keys.aAdmin.key, 'GET', '/v1/audit?limit=0')).status).toBe(400);
    });
  });

  describe('quotas and rate limits', () => {
    it('refuses a model beyond the model quota, but not a new version of an existing one', async () => {
      const res = await root('PATCH', `/v1/tenants/${tenants.b}`, { maxModels: 1 });
      expect(res.body.limits.maxModels).toBe(1);
      const refused = await upload(keys.bPublisher.key, 'second-model');
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'models', limit: 1 } });
      expect((await upload(keys.bPublisher.key, 'demand-1')).status).toBe(201);
      await root('PATCH', `/v1/tenants/${tenants.b}`, { maxModels: null });
    });

    it('refuses an artifact beyond the storage quota', async () => {
      await root('PATCH', `/v1/tenants/${tenants.b}`, { maxArtifactBytes: model.length * 2 });
      const refused = await upload(keys.bPublisher.key, 'demand-1');
      expect(refused.body.error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'artifactBytes' } });
      await root('PATCH', `/v1/tenants/${tenants.b}`, { maxArtifactBytes: null });
    });

    it('counts what an MLflow zip stores, not the zip: a model of repeated weights deflated a hundredfold is held to the quota', async () => {
      const stored = buildLinearModel({ weights: new Array(250_000).fill(0), bias: 1 }).bytes; // 1 MB, nearly all zeros
      const zip = await buildZip([
        { name: 'MLmodel', data: mlmodelHead().join('\n') },
        { name: 'model.onnx', data: stored },
      ]);
      expect(zip.length).toBeLessThan(stored.length / 100);
      await root('PATCH', `/v1/tenants/${tenants.b}`, { maxArtifactBytes: Math.floor(stored.length / 2) });
      try {
        const refused = await as(keys.bPublisher.key, 'POST', '/v1/models/deflated/versions', artifactForm(zip, { filename: 'model.zip' }));
        expect([refused.status, refused.body.error?.code, refused.body.error?.details?.quota]).toEqual([403, 'QUOTA_EXCEEDED', 'artifactBytes']);
        expect(refused.body.error.message).toContain(`Storing ${stored.length} more bytes`);
        expect((await as(keys.bPublisher.key, 'GET', '/v1/models/deflated')).status).toBe(404);
        // Within the quota it is stored, and counted at its stored size.
        await root('PATCH', `/v1/tenants/${tenants.b}`, { maxArtifactBytes: stored.length * 3 - 1 });
        expect((await as(keys.bPublisher.key, 'POST', '/v1/models/deflated/versions', artifactForm(zip, { filename: 'model.zip' }))).status).toBe(201);
        const again = await as(keys.bPublisher.key, 'POST', '/v1/models/deflated/versions', artifactForm(zip, { filename: 'model.zip' }));
        expect(again.status).toBe(201);
        const third = await as(keys.bPublisher.key, 'POST', '/v1/models/deflated/versions', artifactForm(zip, { filename: 'model.zip' }));
        expect([third.status, third.body.error?.code]).toEqual([403, 'QUOTA_EXCEEDED']);
      } finally {
        await as(keys.bPublisher.key, 'DELETE', '/v1/models/deflated');
        await root('PATCH', `/v1/tenants/${tenants.b}`, { maxArtifactBytes: null });
      }
    });

    it('answers 429 with Retry-After once a tenant exceeds its request rate, and other tenants go on', async () => {
      await root('PATCH', `/v1/tenants/${tenants.b}`, { rateLimitPerSecond: 5 });
      // Limits are cached for five seconds and refreshed in the background (a request that finds
      // them expired still uses the old ones): bursts of 20 until one is limited, for at most 8 s.
      const changedAt = Date.now();
      let limited: Awaited<ReturnType<typeof as>>[] = [];
      while (!limited.length && Date.now() - changedAt < 8000) {
        await new Promise((r) => setTimeout(r, 500));
        const results = await Promise.all(Array.from({ length: 20 }, () => as(keys.bAdmin.key, 'GET', '/v1/models')));
        limited = results.filter((r) => r.status === 429);
      }
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0].body.error.code).toBe('RATE_LIMITED');
      expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await as(keys.aScorer.key, 'GET', '/v1/models')).status).toBe(200);
      await root('PATCH', `/v1/tenants/${tenants.b}`, { rateLimitPerSecond: null });
    });
  });
});
