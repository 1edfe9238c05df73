import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/** Safe rollout and operations as a new user meets them: the corners of API.md's Rollout and Operations parts. */
describe('rollout and operations edge cases', () => {
  let t: TestApp;
  let tenantId: string;
  let adminKey: string;

  const upload = (name: string, bias: number, fields: Parameters<typeof artifactForm>[1] = {}) =>
    t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias }).bytes, fields) });
  const jsonLines = () =>
    t
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  /** The request lines so far, once one matches `until` (the log is written asynchronously). */
  const requestLines = async (until: (line: Record<string, unknown>) => boolean) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const lines = jsonLines().filter((l) => l.msg === 'request completed');
      if (lines.some(until)) return lines;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the awaited request line never came');
  };

  beforeAll(async () => {
    t = await startTestApp({ LOG_FORMAT: 'json', LOG_LEVEL: 'debug' });
    tenantId = (await t.request('POST', '/v1/tenants', { body: { name: 'edge-retail' } })).body.id;
    adminKey = (await t.request('POST', `/v1/tenants/${tenantId}/keys`, { body: { role: 'admin' } })).body.key;
    for (let v = 1; v <= 2; v++) expect((await upload('edge-store', v * 100)).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('request log', () => {
    it('masks a key or token a caller put in the URL, the model name or the request id', async () => {
      const asAdmin = { authorization: `Bearer ${adminKey}` };
      const secretOfKey = adminKey.slice('mmsk_'.length + 17);
      await t.request('GET', `/metrics?token=${ROOT_TOKEN}`, { headers: { authorization: '' } });
      await t.request('GET', `/v1/models?limit=5&access_token=${adminKey}`, { headers: { authorization: '' } });
      await t.request('GET', `/v1/models/${adminKey}`, { headers: asAdmin });
      await t.request('POST', '/v1/predict', { headers: asAdmin, body: { model: adminKey, inputs: {} } });
      const requestId = `req-${adminKey}`;
      await t.request('GET', '/v1/models', { headers: { ...asAdmin, 'x-request-id': requestId } });
      const lines = await requestLines((l) => l.route === '/v1/models' && l.status === 200);
      expect(lines.find((l) => l.route === '/metrics' && l.status === 401)?.url).toBe('/metrics?token=[REDACTED]');
      expect(lines.find((l) => l.route === '/v1/models' && l.status === 401)?.url).toBe('/v1/models?limit=5&access_token=[REDACTED]');
      const output = t.output();
      expect(output).not.toContain(ROOT_TOKEN);
      expect(output).not.toContain(secretOfKey);
    });
  });
});
