import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

/**
 * A request may carry at most 64 tags or segment keys; merges (PATCH, an upload's tags) keep
 * the model's labels to the same limit rather than growing them 64 at a time without bound.
 */
describe('label limit after merges (e2e)', () => {
  let app: TestApp;
  const model = buildLinearModel({ weights: [1, 2, 3, 4, 5, 6], bias: 1 });
  const labels = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));

  beforeAll(async () => {
    app = await startTestApp();
  }, 60_000);
  afterAll(async () => app?.dispose());

  it('refuses a PATCH whose merge would pass 64 tags or segment keys, and keeps the model as it was', async () => {
    expect((await app.request('POST', '/v1/models/tagged/versions', { body: artifactForm(model.bytes, { tags: labels('a', 60) }) })).status).toBe(201);
    const tooMany = await app.request('PATCH', '/v1/models/tagged', { body: { tags: labels('b', 10) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('INVALID_REQUEST');
    expect(tooMany.body.error.details).toEqual({ field: 'tags' });
    expect((await app.request('PATCH', '/v1/models/tagged', { body: { segment: labels('s', 40) } })).status).toBe(200);
    expect((await app.request('PATCH', '/v1/models/tagged', { body: { segment: labels('t', 40) } })).status).toBe(400);
    // Removing keys and adding others in one patch is judged by the result.
    const swap = { ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, null])), ...labels('c', 14) };
    expect((await app.request('PATCH', '/v1/models/tagged', { body: { tags: swap } })).status).toBe(200);
    const after = await app.request('GET', '/v1/models/tagged');
    expect(Object.keys(after.body.tags)).toHaveLength(64);
    expect(Object.keys(after.body.segment)).toHaveLength(40);
  }, 30_000);

  it('refuses an upload whose tags, merged into the model\'s, would pass 64, leaving no version and no gap', async () => {
    expect((await app.request('POST', '/v1/models/uploaded/versions', { body: artifactForm(model.bytes, { tags: labels('a', 60) }) })).status).toBe(201);
    const refused = await app.request('POST', '/v1/models/uploaded/versions', { body: artifactForm(model.bytes, { tags: labels('b', 10) }) });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual({ field: 'tags' });
    const next = await app.request('POST', '/v1/models/uploaded/versions', { body: artifactForm(model.bytes, { tags: { a1: 'w' } }) });
    expect(next.status).toBe(201);
    expect(next.body.version).toBe(2);
    const after = await app.request('GET', '/v1/models/uploaded');
    expect(after.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(Object.keys(after.body.tags)).toHaveLength(60);
  }, 30_000);
});
