import { startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * /docs describes the operations routes with the statuses they really answer: a readiness probe
 * generated from the document must know 503 (not ready, degraded), a scraper 401 and 403.
 */
describe('OpenAPI of the operations routes (h28f)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.dispose();
  });

  type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

  it('lists 503 for /health/ready and /v2/health/ready, 401 and 403 for /metrics', async () => {
    const doc = (await t.request('GET', '/docs/json')).body as Doc;
    for (const path of ['/health/ready', '/v2/health/ready']) {
      expect(Object.keys(doc.paths[path].get.responses).sort()).toEqual(['200', '503']);
    }
    expect(Object.keys(doc.paths['/metrics'].get.responses).sort()).toEqual(['200', '401', '403']);
  });

  it('answers /metrics without a credential with the documented 401', async () => {
    const res = await t.request('GET', '/metrics', { headers: { authorization: '' } });
    expect(res.status).toBe(401);
  });
});
