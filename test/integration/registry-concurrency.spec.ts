import { defaultFixtures } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** Registry writes that race each other through the real service and database. */
describe('concurrent registry writes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('keeps every key of concurrent PATCHes that merge different tags', async () => {
    expect((await t.request('POST', '/v1/models/patched/versions', { body: artifactForm(defaultFixtures().linear.bytes, { tags: { algo: 'gbr' } }) })).status).toBe(201);
    const keys = Array.from({ length: 10 }, (_, i) => `owner${i}`);
    const patches = await Promise.all(keys.map((key) => t.request('PATCH', '/v1/models/patched', { body: { tags: { [key]: 'x' } } })));
    expect(patches.map((p) => p.status)).toEqual(keys.map(() => 200));
    const model = await t.request('GET', '/v1/models/patched');
    expect(Object.keys(model.body.tags).sort()).toEqual(['algo', ...keys].sort());
  });
});
