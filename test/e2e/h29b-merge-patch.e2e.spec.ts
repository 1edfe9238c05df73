import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The README calls PATCH's tags and segment JSON merge patches (RFC 7396), whose media type is
 * application/merge-patch+json: what merge-patch clients send. PATCH reads it as JSON; other
 * methods still refuse it (415), as they refuse any type they do not take.
 */
describe('PATCH takes application/merge-patch+json (h29b)', () => {
  let t: TestApp;
  let tenant: string;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/v1/models/merged/versions', { body: artifactForm(buildLinearModel({ weights: [1, 2], bias: 0 }).bytes, { tags: { a: '1', b: '2' } }) })).status).toBe(201);
    tenant = (await t.request('POST', '/v1/tenants', { body: { name: 'merged' } })).body.id;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const send = (method: string, path: string, body: string, type = 'application/merge-patch+json') => t.request(method, path, { body: new Blob([body], { type }) });

  it('patches a model', async () => {
    const res = await send('PATCH', '/v1/models/merged', '{"tags":{"a":null,"c":"3"},"description":"merge"}');
    expect([res.status, res.body.tags, res.body.description]).toEqual([200, { b: '2', c: '3' }, 'merge']);
  });

  it('patches a tenant, with a charset parameter too', async () => {
    const res = await send('PATCH', `/v1/tenants/${tenant}`, '{"maxModels":7}', 'application/merge-patch+json; charset=utf-8');
    expect([res.status, res.body.limits?.maxModels]).toEqual([200, 7]);
  });

  it('refuses bad JSON as application/json does', async () => {
    const res = await send('PATCH', '/v1/models/merged', '{"tags":');
    expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('is still a 415 where the method is not PATCH', async () => {
    const res = await send('POST', '/v1/tenants', '{"name":"merged-post"}');
    expect([res.status, res.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect((await send('POST', '/v1/predict', '{"model":"merged","inputs":{"float_input":[[1,2]]}}')).status).toBe(415);
  });
});
