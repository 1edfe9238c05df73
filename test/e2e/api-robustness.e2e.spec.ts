import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { defaultFixtures } from '../fixtures/onnx-builder';
import { artifactForm, filesUnder, ROOT_TOKEN, startTestApp, TestApp, TestResponse } from '../support/test-app';

jest.setTimeout(180_000);

/**
 * Malformed and hostile requests, route by route: every refusal is a 4xx in API.md's error body
 * (`{"error":{"code","message","details"}}`), never a 5xx, and leaves nothing half-written.
 */
/** Sends raw bytes on a new connection and answers everything the server wrote until it closed it. */
function rawExchange(baseUrl: string, request: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.write(request);
  });
}

describe('API robustness against malformed requests', () => {
  let t: TestApp;
  let tenantId: string;
  const model = defaultFixtures().linear.bytes;

  const raw = async (method: string, p: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<TestResponse> => {
    const response = await fetch(`${t.baseUrl}${p}`, { method, headers: { authorization: `Bearer ${ROOT_TOKEN}`, ...headers }, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the assertion on the error body says so
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };

  function expectClientError(res: TestResponse, status?: number, code?: string): void {
    if (status) expect(res.status).toBe(status);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(Object.keys(res.body.error).sort()).toEqual(['code', 'details', 'message']);
    expect(typeof res.body.error.code).toBe('string');
    expect(typeof res.body.error.message).toBe('string');
    if (code) expect(res.body.error.code).toBe(code);
  }

  beforeAll(async () => {
    t = await startTestApp();
    const tenant = await t.request('POST', '/v1/tenants', { body: { name: 'robust' } });
    expect(tenant.status).toBe(201);
    tenantId = tenant.body.id;
    expect((await t.request('POST', '/v1/models/robust-model/versions', { body: artifactForm(model) })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('PATCH /v1/tenants/{tenant}', () => {
    it('answers a patch that sets nothing (no body, empty body, {}) with the tenant unchanged, not a 500', async () => {
      const before = (await t.request('GET', `/v1/tenants/${tenantId}`)).body;
      for (const body of [undefined, '', '{}']) {
        const res = await raw('PATCH', `/v1/tenants/${tenantId}`, body, body === undefined ? {} : { 'content-type': 'application/json' });
        expect(res.status).toBe(200);
        expect(res.body.limits).toEqual(before.limits);
      }
      // a field the body leaves out keeps its value when another is set
      expect((await t.request('PATCH', `/v1/tenants/${tenantId}`, { body: { maxModels: 7 } })).body.limits.maxModels).toBe(7);
      const res = await t.request('PATCH', `/v1/tenants/${tenantId}`, { body: { rateLimitPerSecond: 5 } });
      expect(res.status).toBe(200);
      expect(res.body.limits).toMatchObject({ maxModels: 7, rateLimitPerSecond: 5 });
    });

    it('refuses limits beyond what can be stored with a 400 naming the field', async () => {
      for (const body of [{ maxModels: 2 ** 31 }, { rateLimitPerSecond: 2 ** 53 }, { maxArtifactBytes: 1e308 }]) {
        const res = await t.request('PATCH', `/v1/tenants/${tenantId}`, { body });
        expectClientError(res, 400, 'VALIDATION_FAILED');
        expect(JSON.stringify(res.body.error)).toContain(Object.keys(body)[0]);
      }
      const biggest = await t.request('PATCH', `/v1/tenants/${tenantId}`, { body: { maxModels: 2 ** 31 - 1, maxArtifactBytes: Number.MAX_SAFE_INTEGER } });
      expect(biggest.status).toBe(200);
      expect(biggest.body.limits).toMatchObject({ maxModels: 2 ** 31 - 1, maxArtifactBytes: Number.MAX_SAFE_INTEGER });
    });
  });

  describe('POST /v1/models/{name}/versions with a malformed multipart body', () => {
    const staged = () => filesUnder(t.storeDir).filter((f) => path.relative(t.storeDir, f).startsWith('tmp'));
    const wellFormed = () => {
      const boundary = 'robustb0undary';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="m.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n`;
      return { boundary, body: Buffer.concat([Buffer.from(head), model, Buffer.from(`\r\n--${boundary}--\r\n`)]) };
    };

    it('answers 400 INVALID_REQUEST for a multipart content type without a boundary', async () => {
      const res = await raw('POST', '/v1/models/robust-upload/versions', wellFormed().body, { 'content-type': 'multipart/form-data' });
      expectClientError(res, 400, 'INVALID_REQUEST');
      expect((await t.request('GET', '/v1/models/robust-upload')).status).toBe(404);
    });

    it('answers 400 INVALID_REQUEST for a body cut off inside the artifact, leaving no model and no staged file', async () => {
      const { boundary, body } = wellFormed();
      const res = await raw('POST', '/v1/models/robust-upload/versions', body.subarray(0, body.length - 200), { 'content-type': `multipart/form-data; boundary=${boundary}` });
      expectClientError(res, 400, 'INVALID_REQUEST');
      expect((await t.request('GET', '/v1/models/robust-upload')).status).toBe(404);
      expect(staged()).toEqual([]);
    });
  });

  it('answers a Connection: close request followed by stray bytes (Content-Length short of the body) with its own answer', async () => {
    const { hostname } = new URL(t.baseUrl);
    const body = '{"name":"short-length"}';
    const request =
      `POST /v1/tenants HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${ROOT_TOKEN}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}GET / HTTP/1.1\r\n\r\n`;
    const answer = await rawExchange(t.baseUrl, request);
    // the tenant is created: the client must be told so, not "400 not valid HTTP/1.1"
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    const tenants = (await t.request('GET', '/v1/tenants')).body.items.map((x: { name: string }) => x.name);
    expect(tenants).toContain('short-length');
  });

  it('answers CONNECT and an HTTP/1.1 request without Host in the error body, not with a dropped socket or a bare 400', async () => {
    const { hostname, port } = new URL(t.baseUrl);
    const exchange = (request: string) => rawExchange(t.baseUrl, request);
    const connect = await exchange(`CONNECT ${hostname}:${port} HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
    expect(connect).toMatch(/^HTTP\/1\.1 405 /);
    expect(connect).toMatch(/\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/i);
    expect(JSON.parse(connect.slice(connect.indexOf('\r\n\r\n') + 4)).error.code).toBe('METHOD_NOT_ALLOWED');
    const hostless = await exchange(`GET /v1/tenants HTTP/1.1\r\nauthorization: Bearer ${ROOT_TOKEN}\r\nconnection: close\r\n\r\n`);
    expect(hostless).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(hostless.slice(hostless.indexOf('\r\n\r\n') + 4)).error.code).toBe('INVALID_REQUEST');
  });

  it('answers an Expect other than 100-continue with 417 in the error body, and does not carry the request out', async () => {
    const { hostname } = new URL(t.baseUrl);
    const body = '{"name":"expected-tenant"}';
    const answer = await rawExchange(
      t.baseUrl,
      `POST /v1/tenants HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${ROOT_TOKEN}\r\ncontent-type: application/json\r\n` +
        `expect: 200-ok\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 417 /);
    const error = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error;
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', details: { header: 'expect' } });
    expect(error.message).toContain('200-ok');
    const tenants = (await t.request('GET', '/v1/tenants')).body.items.map((x: { name: string }) => x.name);
    expect(tenants).not.toContain('expected-tenant');
  });

  it('answers every body-taking route in the OpenAPI description with a 4xx error body for malformed or misshapen JSON', async () => {
    const doc = (await t.request('GET', '/docs/json')).body as { paths: Record<string, Record<string, unknown>> };
    const pathFor = (p: string) =>
      p.replace(/\{(\w+)\}/g, (_, name: string) => ({ tenant: tenantId, name: 'robust-model', version: '1', alias: 'staging' })[name] ?? randomUUID());
    const bodies = ['{', '{"a":}', 'null', '[]', '"text"', '[{}]', `${'['.repeat(1000)}${']'.repeat(1000)}`, `{"__proto__":{"polluted":1}}`];
    const failures: string[] = [];
    for (const [p, operations] of Object.entries(doc.paths)) {
      for (const method of ['post', 'put', 'patch'].filter((m) => operations[m])) {
        if (p === '/v1/models/{name}/versions') continue; // multipart: above
        for (const body of bodies) {
          const res = await raw(method.toUpperCase(), pathFor(p), body, { 'content-type': 'application/json' });
          // a body a route may take as "no options" ([] or null on load, cancel…) is fine; a 5xx or a bare error is not
          if (res.status < 400) continue;
          const ok =
            res.status < 500 &&
            typeof res.body === 'object' &&
            Object.keys(res.body).join() === 'error' &&
            Object.keys(res.body.error).sort().join() === 'code,details,message';
          if (!ok) failures.push(`${method.toUpperCase()} ${p} ${body.slice(0, 20)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
    expect((await t.request('GET', '/health/ready')).status).toBe(200);
  });
});
