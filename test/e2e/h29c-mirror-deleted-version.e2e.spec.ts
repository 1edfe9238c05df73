import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const linear = (bias: number) => buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias }).bytes;
type Pair = { primaryVersion: number; shadowVersion: number; count: number };

/**
 * The shadow comparison of a pair is dropped with either of its versions. Kept, the pairs of a
 * nightly mirror → promote → delete cycle piled up for ever (a 2,048-value reservoir each, per
 * model and night), in memory, in `GET …/traffic` and in /metrics, naming versions long gone.
 */
async function mirrorThenDelete(writer: TestApp, reader: TestApp, name: string): Promise<{ before: Pair[]; after: Pair[] }> {
  for (const bias of [10, 20, 30]) expect((await writer.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(linear(bias)) })).status).toBe(201);
  expect((await writer.request('PUT', `/v1/models/${name}/aliases/production`, { body: { version: 1 } })).status).toBe(200);
  expect((await writer.request('PUT', `/v1/models/${name}/traffic`, { body: { mirror: { version: 2, percent: 100 } } })).status).toBe(200);
  const comparison = async () => ((await reader.request('GET', `/v1/models/${name}/traffic`)).body as { comparison: Pair[] }).comparison;
  // The reader mirrors (and so compares) requests it serves itself, once it has the rule.
  for (const deadline = Date.now() + 10_000; !(await comparison()).some((p) => p.shadowVersion === 2 && p.count > 0); ) {
    if (Date.now() > deadline) throw new Error('no mirrored call was compared');
    expect((await reader.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: [[1, 1, 1, 1, 1, 1]] } } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
  }
  const before = await comparison();
  // The next night's shadow, then the old one goes.
  expect((await writer.request('PUT', `/v1/models/${name}/traffic`, { body: { mirror: { version: 3, percent: 100 } } })).status).toBe(200);
  expect((await writer.request('DELETE', `/v1/models/${name}/versions/2`)).status).toBe(204);
  let after = await comparison();
  for (const deadline = Date.now() + 1000; after.some((p) => p.shadowVersion === 2) && Date.now() < deadline; after = await comparison()) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return { before, after };
}

describe('shadow comparisons of a deleted version', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('are dropped when the version is deleted', async () => {
    const { before, after } = await mirrorThenDelete(t, t, 'nightly');
    expect(before.map((p) => [p.primaryVersion, p.shadowVersion])).toEqual([[1, 2]]);
    expect(after).toEqual([]);
  });
});

(process.env.DATABASE_URL ? describe : describe.skip)('shadow comparisons of a version deleted on another replica', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ DATABASE_URL: a.env.DATABASE_URL, MMS_MODEL_STORE: a.storeDir });
  });
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  it('are dropped there too, when the deletion is heard of', async () => {
    const { before, after } = await mirrorThenDelete(a, b, 'nightly-elsewhere');
    expect(before.map((p) => [p.primaryVersion, p.shadowVersion])).toEqual([[1, 2]]);
    expect(after).toEqual([]);
  });
});
