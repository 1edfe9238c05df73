import { startTestApp, TestApp } from '../support/test-app';

/** GET /v1/audit answers what was asked, or says why it cannot. */
describe('audit query (e2e)', () => {
  let app: TestApp;
  let tenantA: string;
  let tenantB: string;
  let adminA: string;

  beforeAll(async () => {
    app = await startTestApp();
    tenantA = (await app.request('POST', '/v1/tenants', { body: { name: 'audit-a' } })).body.id;
    tenantB = (await app.request('POST', '/v1/tenants', { body: { name: 'audit-b' } })).body.id;
    adminA = (await app.request('POST', `/v1/tenants/${tenantA}/keys`, { body: { role: 'admin' } })).body.key;
  }, 60_000);
  afterAll(async () => app?.dispose());

  const asAdmin = (path: string) => app.request('GET', path, { headers: { authorization: `Bearer ${adminA}` } });

  it("answers an admin naming another tenant 404, as a missing tenant, not with its own tenant's log", async () => {
    for (const other of [tenantB, '0196a7a8-0000-7000-8000-000000000000']) {
      const response = await asAdmin(`/v1/audit?tenant=${other}`);
      expect(response.status).toBe(404);
      expect(response.body.error).toEqual({ code: 'TENANT_NOT_FOUND', message: `Tenant '${other}' not found`, details: { tenant: other } });
    }
    const own = await asAdmin(`/v1/audit?tenant=${tenantA}`);
    expect(own.status).toBe(200);
    expect(own.body.items.length).toBeGreaterThan(0);
    expect(own.body.items.every((e: { tenantId: string }) => e.tenantId === tenantA)).toBe(true);
  }, 30_000);

  it('refuses a parameter given twice (400) rather than answering an empty log', async () => {
    for (const query of ['action=key.create&action=model.delete', 'limit=1&limit=2', 'before=9&before=8']) {
      const response = await asAdmin(`/v1/audit?${query}`);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('INVALID_REQUEST');
      expect(response.body.error.message).toMatch(/given more than once/);
    }
    expect((await asAdmin('/v1/audit?action=key.create')).body.items.length).toBeGreaterThan(0);
  }, 30_000);
});
