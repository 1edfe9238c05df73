import { startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** The tenant and key listings answer the whole list: a query parameter they would ignore is a 400 instead. */
describe('GET /v1/tenants and GET /v1/tenants/{tenant}/keys with query parameters', () => {
  let t: TestApp;
  let tenant: string;
  beforeAll(async () => {
    t = await startTestApp();
    tenant = (await t.request('POST', '/v1/tenants', { body: { name: 'listing-query' } })).body.id;
    for (let i = 0; i < 2; i++) expect((await t.request('POST', `/v1/tenants/${tenant}/keys`, { body: { role: 'scorer' } })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it.each([
    ['/v1/tenants?limit=1', 'limit'],
    ['/v1/tenants?cursor=x', 'cursor'],
    ['KEYS?limit=1', 'limit'],
    ['KEYS?role=admin', 'role'],
  ])('%s is a 400 naming the parameter', async (path, parameter) => {
    const res = await t.request('GET', path.replace('KEYS', `/v1/tenants/${tenant}/keys`));
    expect([res.status, res.body.error.code, res.body.error.details]).toEqual([400, 'INVALID_REQUEST', { parameter }]);
  });

  it('answers the whole lists without parameters', async () => {
    expect((await t.request('GET', '/v1/tenants')).body.items.map((x: { name: string }) => x.name)).toContain('listing-query');
    expect((await t.request('GET', `/v1/tenants/${tenant}/keys`)).body.items).toHaveLength(2);
  });
});
