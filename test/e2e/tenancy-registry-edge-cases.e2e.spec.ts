import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, filesUnder, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/** Edge cases of tenants, keys, tokens and the registry that a new user (or an attacker) tries. */
describe('tenancy and registry edge cases', () => {
  let t: TestApp;
  let tenantA: string;
  let publisherA: string;
  let publisherB: string;
  const as = (key: string, method: string, p: string, body?: unknown) => t.request(method, p, { body, headers: { authorization: `Bearer ${key}` } });
  const model = (bias: number) => buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias }).bytes;
  const storedFiles = () => filesUnder(t.storeDir).sort();

  beforeAll(async () => {
    t = await startTestApp();
    const keyOf = async (name: string) => {
      const tenant = (await as(ROOT_TOKEN, 'POST', '/v1/tenants', { name })).body.id;
      return { tenant, publisher: (await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenant}/keys`, { role: 'publisher' })).body.key as string };
    };
    ({ tenant: tenantA, publisher: publisherA } = await keyOf('edge-a'));
    ({ publisher: publisherB } = await keyOf('edge-b'));
    const registered = await as(publisherA, 'POST', '/v1/models/tagged/versions', artifactForm(model(1), { tags: { algo: 'gbr' }, segment: { region: 'north' } }));
    expect(registered.status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("answers another tenant's model on every model route exactly as a missing one", async () => {
    expect((await as(publisherB, 'POST', '/v1/models/only-b/versions', artifactForm(model(2)))).status).toBe(201);
    expect((await as(publisherB, 'PUT', '/v1/models/only-b/aliases/production', { version: 1 })).status).toBe(200);
    const infer = { inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: [1, 0, 0, 0, 0, 0] }] };
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/v1/models/NAME'],
      ['GET', '/v1/models/NAME/versions/1'],
      ['PATCH', '/v1/models/NAME', { description: 'x' }],
      ['PUT', '/v1/models/NAME/aliases/production', { version: 1 }],
      ['DELETE', '/v1/models/NAME/aliases/production'],
      ['DELETE', '/v1/models/NAME/versions/1'],
      ['GET', '/v1/models/NAME/traffic'],
      ['PUT', '/v1/models/NAME/traffic', { split: { '1': 100 } }],
      ['POST', '/v1/models/NAME/load', { pin: true }],
      ['POST', '/v1/models/NAME/unload'],
      ['POST', '/v1/predict', { model: 'NAME', inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } }],
      ['POST', '/v1/predict/fanout', { requests: [{ model: 'NAME', inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } }] }],
      ['GET', '/v2/models/NAME'],
      ['GET', '/v2/models/NAME/versions/1/ready'],
      ['GET', '/v2/models/NAME/config'],
      ['POST', '/v2/models/NAME/infer', infer],
      ['POST', '/v1/models/NAME/invocations', { inputs: [[1, 0, 0, 0, 0, 0]] }],
      ['GET', '/v1/models/NAME/quality'],
      ['DELETE', '/v1/models/NAME'],
    ];
    const answer = async (name: string, [method, p, body]: [string, string, unknown?]) => {
      const res = await as(publisherA, method, p.replace('NAME', name), body === undefined ? undefined : JSON.parse(JSON.stringify(body).replace('NAME', name)));
      return [res.status, JSON.stringify(res.body).replaceAll(name, 'NAME')];
    };
    for (const route of routes) expect([route[0], route[1], ...(await answer('only-b', route))]).toEqual([route[0], route[1], ...(await answer('never-registered', route))]);
    // ...and b's model is untouched.
    expect((await as(publisherB, 'GET', '/v1/models/only-b')).body).toMatchObject({ aliases: { production: 1 }, description: null });
  });

  it('refuses a __proto__ segment or tag key, in a listing filter and in an upload, instead of dropping it', async () => {
    // Dropped, the filter would list every model of the tenant ("a typo never widens a listing").
    for (const filter of ['tag.__proto__=nomatch', 'segment.__proto__=nomatch']) {
      const res = await as(publisherA, 'GET', `/v1/models?${filter}`);
      expect([filter, res.status, res.body.error?.code]).toEqual([filter, 400, 'INVALID_REQUEST']);
    }
    const before = storedFiles();
    for (const [part, json] of [['tags', '{"__proto__":"x","owner":"a"}'], ['segment', '{"__proto__":"x"}']]) {
      const form = artifactForm(model(3));
      form.append(part, json);
      const res = await as(publisherA, 'POST', '/v1/models/proto-keys/versions', form);
      expect([res.status, res.body.error?.code, res.body.error?.message]).toEqual([400, 'INVALID_REQUEST', expect.stringContaining("'__proto__' is reserved")]);
    }
    expect((await as(publisherA, 'GET', '/v1/models/proto-keys')).status).toBe(404);
    expect(storedFiles()).toEqual(before);
  });

  it('refuses an upload that gives segment, tags or description twice, and stores nothing', async () => {
    const before = storedFiles();
    for (const part of ['segment', 'tags', 'description']) {
      const form = artifactForm(model(4));
      const value = part === 'description' ? 'text' : '{"region":"north"}';
      form.append(part, value);
      form.append(part, part === 'description' ? 'other text' : '{"region":"south"}');
      const res = await as(publisherA, 'POST', '/v1/models/twice/versions', form);
      expect([part, res.status, res.body.error?.code, res.body.error?.details]).toEqual([part, 400, 'INVALID_REQUEST', { part }]);
    }
    expect((await as(publisherA, 'GET', '/v1/models/twice')).status).toBe(404);
    expect(storedFiles()).toEqual(before);
  });

  it("never hands out a token that outlives its key: expiresAt is the key's expiry at the latest", async () => {
    const keyExpiresAt = new Date(Date.now() + 120_000);
    keyExpiresAt.setMilliseconds(0);
    const key = await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantA}/keys`, { role: 'scorer', expiresAt: keyExpiresAt.toISOString() });
    expect(key.status).toBe(201);
    const token = await as(key.body.key, 'POST', '/v1/auth/token');
    expect(token.status).toBe(200);
    expect(Date.parse(token.body.expiresAt)).toBeLessThanOrEqual(keyExpiresAt.getTime());
    const claims = JSON.parse(Buffer.from(token.body.token.split('.')[1], 'base64url').toString('utf8')) as { exp: number };
    expect(claims.exp * 1000).toBeLessThanOrEqual(keyExpiresAt.getTime());
    expect((await as(token.body.token, 'GET', '/v1/models/tagged')).status).toBe(200);
    // A key without expiry still gets the full lifetime (15 min by default).
    const lasting = await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantA}/keys`, { role: 'scorer' });
    const full = await as(lasting.body.key, 'POST', '/v1/auth/token');
    expect(Date.parse(full.body.expiresAt)).toBeGreaterThan(Date.now() + 14 * 60_000);
  });

  it('serves the new bytes when a pinned model is deleted and registered again under its name', async () => {
    const predict = async () => (await as(publisherA, 'POST', '/v1/predict', { model: 'reborn', inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } })).body;
    expect((await as(publisherA, 'POST', '/v1/models/reborn/versions', artifactForm(model(10)))).status).toBe(201);
    expect((await as(publisherA, 'POST', '/v1/models/reborn/load', { pin: true })).body.pinned).toBe(true);
    expect((await predict()).outputs.variable[0][0]).toBeCloseTo(11, 4);
    expect((await as(publisherA, 'DELETE', '/v1/models/reborn')).status).toBe(204);
    expect((await as(publisherA, 'GET', '/v1/cache')).body.models.map((m: { model: string }) => m.model)).not.toContain('reborn');
    expect((await as(publisherA, 'POST', '/v1/models/reborn/versions', artifactForm(model(20)))).body.version).toBe(1);
    expect(await predict()).toMatchObject({ version: 1, outputs: { variable: [[expect.closeTo(21, 4)]] } });
  });

  it('holds quotas under concurrent uploads: 8 new models at once against a quota of 2 register 2', async () => {
    const tenant = (await as(ROOT_TOKEN, 'POST', '/v1/tenants', { name: 'edge-quota' })).body.id;
    const publisher = (await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenant}/keys`, { role: 'publisher' })).body.key as string;
    const size = model(5).length;
    expect((await as(ROOT_TOKEN, 'PATCH', `/v1/tenants/${tenant}`, { maxModels: 2, maxArtifactBytes: 5 * size })).status).toBe(200);
    const statuses = async (names: string[]) => {
      const answers = await Promise.all(names.map((name) => as(publisher, 'POST', `/v1/models/${name}/versions`, artifactForm(model(5)))));
      for (const res of answers) if (res.status !== 201) expect(res.body.error.code).toBe('QUOTA_EXCEEDED');
      return answers.map((res) => res.status).sort();
    };
    expect(await statuses(Array.from({ length: 8 }, (_, i) => `new-${i}`))).toEqual([201, 201, ...Array(6).fill(403)]);
    const listed = (await as(publisher, 'GET', '/v1/models')).body.items;
    expect(listed).toHaveLength(2);
    // New versions of the two models add no model, but bytes: 3 more fit in 5 model sizes.
    expect(await statuses(Array.from({ length: 8 }, (_, i) => listed[i % 2].name))).toEqual([201, 201, 201, ...Array(5).fill(403)]);
  });

  it("answers 400 for tenant limits beyond what can be kept, and 200 for a patch that changes nothing", async () => {
    for (const body of [{ rateLimitPerSecond: 1e12 }, { maxModels: 2 ** 31 }, { maxArtifactBytes: 1e30 }]) {
      const res = await as(ROOT_TOKEN, 'PATCH', `/v1/tenants/${tenantA}`, body);
      expect([body, res.status, res.body.error?.code]).toEqual([body, 400, 'VALIDATION_FAILED']);
    }
    const set = await as(ROOT_TOKEN, 'PATCH', `/v1/tenants/${tenantA}`, { maxModels: 2 ** 31 - 1, maxArtifactBytes: Number.MAX_SAFE_INTEGER });
    expect([set.status, set.body.limits]).toEqual([200, expect.objectContaining({ maxModels: 2 ** 31 - 1, maxArtifactBytes: Number.MAX_SAFE_INTEGER })]);
    const unchanged = await as(ROOT_TOKEN, 'PATCH', `/v1/tenants/${tenantA}`, {});
    expect([unchanged.status, unchanged.body.limits]).toEqual([200, set.body.limits]);
    expect((await as(ROOT_TOKEN, 'PATCH', `/v1/tenants/${tenantA}`, { maxModels: null, maxArtifactBytes: null })).status).toBe(200);
  });

  it('refuses a key expiry that is no calendar date-time (Feb 30, a number) instead of reading it as another', async () => {
    for (const expiresAt of ['2027-02-30T00:00:00Z', '2027-04-31', 1_900_000_000_000, true]) {
      const res = await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantA}/keys`, { role: 'scorer', expiresAt });
      expect([expiresAt, res.status, res.body.error?.message]).toEqual([expiresAt, 400, 'expiresAt must be an ISO 8601 date-time']);
    }
    for (const [given, stored] of [['2027-03-01', '2027-03-01T00:00:00.000Z'], ['2027-03-01T12:00:00+02:00', '2027-03-01T10:00:00.000Z']]) {
      const res = await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantA}/keys`, { role: 'scorer', expiresAt: given });
      expect([given, res.status, res.body.expiresAt]).toEqual([given, 201, stored]);
    }
  });

  it('lets root name a tenant in x-tenant right after creating it, even if it asked for that name before', async () => {
    const asRootIn = (tenant: string) => t.request('GET', '/v1/models', { headers: { 'x-tenant': tenant } });
    expect((await asRootIn('edge-late')).body.error.code).toBe('TENANT_NOT_FOUND');
    expect((await as(ROOT_TOKEN, 'POST', '/v1/tenants', { name: 'edge-late' })).status).toBe(201);
    expect((await asRootIn('edge-late')).status).toBe(200);
    // A name of the form of an id would be read as an id there: refused.
    const uuidName = await as(ROOT_TOKEN, 'POST', '/v1/tenants', { name: tenantA });
    expect([uuidName.status, uuidName.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it("answers a scorer whose models glob has many stars, and keeps answering other tenants (no regex backtracking)", async () => {
    // As a regular expression (^.*.*…b$) this glob took seconds at 10 stars and forever at 40,
    // on the event loop: one tenant's admin could freeze the service for every tenant.
    const glob = `${'*'.repeat(40)}b`;
    const name = 'a'.repeat(60);
    expect((await as(publisherA, 'POST', `/v1/models/${name}/versions`, artifactForm(model(7)))).status).toBe(201);
    const scorer = (await as(ROOT_TOKEN, 'POST', `/v1/tenants/${tenantA}/keys`, { role: 'scorer', models: [glob, 'tagged'] })).body.key as string;
    expect((await as(scorer, 'GET', `/v1/models/${name}`)).status).toBe(404);
    expect((await as(scorer, 'POST', '/v1/predict', { model: name, inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } })).status).toBe(404);
    expect((await as(scorer, 'GET', '/v1/models/tagged')).status).toBe(200);
    expect((await as(scorer, 'GET', '/v1/models')).body.items.map((m: { name: string }) => m.name)).toEqual(['tagged']);
    expect((await as(publisherB, 'GET', '/v1/models/only-b')).status).toBe(200);
  }, 60_000);

  it('answers 400, not 500, for a malformed multipart body, and stores nothing', async () => {
    const before = storedFiles();
    const raw = (contentType: string, body: string) =>
      t.request('POST', '/v1/models/malformed/versions', { body: new Blob([body], { type: contentType }), headers: { authorization: `Bearer ${publisherA}` } });
    const cut = '--xx\r\nContent-Disposition: form-data; name="artifact"; filename="m.onnx"\r\n\r\nonnx bytes cut short';
    for (const [contentType, body] of [['multipart/form-data; boundary=xx', cut], ['multipart/form-data', 'no boundary']]) {
      const res = await raw(contentType, body);
      expect([contentType, res.status, res.body.error?.code, res.body.error?.message]).toEqual([contentType, 400, 'INVALID_REQUEST', expect.stringContaining('multipart body is malformed')]);
    }
    // A text part named artifact is told apart from an unknown part.
    const form = new FormData();
    form.append('artifact', 'not a file');
    const text = await as(publisherA, 'POST', '/v1/models/malformed/versions', form);
    expect([text.status, text.body.error.message]).toEqual([400, expect.stringContaining("'artifact' part must be a file")]);
    expect((await as(publisherA, 'GET', '/v1/models/malformed')).status).toBe(404);
    expect(storedFiles()).toEqual(before);
  });
});
