import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** A JSON `null` body where an object is expected is a 400, as `1`, `"s"` and `[]` are, not a PATCH that changes nothing. */
describe('a null JSON body on the routes that take a body object', () => {
  let t: TestApp;
  let tenant: string;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/v1/models/nulled/versions', { body: artifactForm(buildLinearModel({ weights: [1, 2, 3], bias: 0 }).bytes) })).status).toBe(201);
    tenant = (await t.request('POST', '/v1/tenants', { body: { name: 'nulled' } })).body.id;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const raw = (method: string, path: string, body: string) => t.request(method, path, { body: new Blob([body], { type: 'application/json' }) });

  it.each([
    ['PATCH', '/v1/models/nulled'],
    ['PATCH', '/v1/tenants/TENANT'],
    ['POST', '/v1/tenants'],
    ['POST', '/v1/tenants/TENANT/keys'],
  ])('%s %s', async (method, path) => {
    const res = await raw(method, path.replace('TENANT', tenant), 'null');
    expect([res.status, res.body.error.code, res.body.error.message]).toEqual([400, 'VALIDATION_FAILED', 'The request body must be a JSON object, not null']);
  });

  it('still takes an empty object as a PATCH that changes nothing', async () => {
    expect((await raw('PATCH', '/v1/models/nulled', '{}')).status).toBe(200);
    expect((await raw('PATCH', `/v1/tenants/${tenant}`, '{}')).status).toBe(200);
  });
});
