import { buildLinearModel, buildSlowLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A shadow version much slower than the one that answers, sharing one inference worker with it
 * (MMS_WORKERS=1): mirrored calls run in the background, so a request waits for at most the one
 * shadow call under way, never for the queue of them that a burst of mirrored requests leaves.
 */
describe('mirrored calls in the background', () => {
  let t: TestApp;
  const models = Array.from({ length: 6 }, (_, i) => `shadowed-${i}`);
  const row = [1, 1, 1, 1, 1, 1];
  const weights = [1, 0, 0, 0, 0, 0];
  const predict = (model: string) => t.request('POST', '/v1/predict', { body: { model, inputs: { float_input: [row] } } });
  /** Shadow calls compared so far, over every model. */
  const compared = async () => {
    const rules = await Promise.all(models.map((m) => t.request('GET', `/v1/models/${m}/traffic`)));
    return rules.reduce((sum, r) => sum + ((r.body.comparison as Array<{ count: number }>)[0]?.count ?? 0), 0);
  };
  const shedTotal = async () => {
    const text = (await t.request('GET', '/metrics')).body as string;
    return [...text.matchAll(/^mms_mirror_shed_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const until = async (check: () => Promise<boolean>) => {
    for (const deadline = Date.now() + 60_000; !(await check()); ) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ MMS_WORKERS: '1' });
    for (const name of models) {
      const fast = buildLinearModel({ weights, bias: 1 }).bytes;
      // ~100 ms a call on this machine's cores, whatever the rows: a loop of 100,000 steps.
      const slow = buildSlowLinearModel({ weights, bias: 2, iterations: 100_000 }).bytes;
      for (const bytes of [fast, slow]) expect((await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes) })).status).toBe(201);
      expect((await t.request('PUT', `/v1/models/${name}/traffic`, { body: { split: { '1': 100 }, mirror: { version: 2, percent: 100 } } })).status).toBe(200);
      // Both versions loaded, and the first shadow call made, before anything is counted.
      expect((await predict(name)).body.version).toBe(1);
    }
    await until(async () => (await compared()) === models.length);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('answers a request before the shadow calls a burst queued ahead of it, and still runs them', async () => {
    // One request per model at once: six shadow calls of ~100 ms each, on six sessions, so none merge.
    const burst = await Promise.all(models.map(predict));
    expect(burst.map((r) => r.body.version)).toEqual(models.map(() => 1));
    const late = await predict(models[0]);
    const comparedWhenAnswered = (await compared()) - models.length;
    expect(late.status).toBe(200);
    expect(late.body.outputs.variable[0][0]).toBeCloseTo(2, 5);
    // Before, the late request ran after all six (~600 ms); now after the one under way, if any.
    expect(comparedWhenAnswered).toBeLessThanOrEqual(2);
    // Every shadow call of the burst and of the late request runs, or is shed if the worker stayed busy too long.
    await until(async () => (await compared()) + (await shedTotal()) === 2 * models.length + 1);
    const rule = await t.request('GET', `/v1/models/${models[0]}/traffic`);
    expect(rule.body.comparison[0]).toMatchObject({ primaryVersion: 1, shadowVersion: 2, shadowErrors: 0, meanAbsDiff: 1 });
  });
});
