import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A mirrored request's shadow answer is logged beside the prediction the client got, and the
 * actual sent for that prediction scores both: quality shows how the shadow would have done
 * (`mirrored`), apart from the versions that served.
 */
describe('quality of a shadow version, from the actuals of mirrored requests', () => {
  let t: TestApp;
  const row = [1, 0, 0, 0, 0, 0];
  const predict = (body: object = {}) => t.request('POST', '/v1/predict', { body: { model: 'forecast', inputs: { float_input: [row] }, ...body } });
  const compared = async () => ((await t.request('GET', '/v1/models/forecast/traffic')).body.comparison as Array<{ count: number }>)[0]?.count ?? 0;
  const until = async (check: () => Promise<boolean>) => {
    for (const deadline = Date.now() + 30_000; !(await check()); ) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    t = await startTestApp();
    // v1 answers 2, v2 answers 4 for the row.
    for (const bias of [1, 3]) {
      const bytes = buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias }).bytes;
      expect((await t.request('POST', '/v1/models/forecast/versions', { body: artifactForm(bytes) })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('lists no mirrored figures for a model that was never mirrored', async () => {
    const answer = await predict();
    expect((await t.request('POST', '/v1/feedback', { body: { predictionId: answer.body.predictionId, actual: 2 } })).status).toBe(200);
    const quality = await t.request('GET', '/v1/models/forecast/quality');
    expect(quality.body.versions).toEqual([expect.objectContaining({ version: 2, count: 1, mae: 2 })]);
    expect(quality.body.mirrored).toEqual([]);
  });

  it('scores the shadow with the actual of the prediction it shadowed, by id and by routing key', async () => {
    expect((await t.request('PUT', '/v1/models/forecast/traffic', { body: { split: { '1': 100 }, mirror: { version: 2, percent: 100 } } })).status).toBe(200);
    const answers = [await predict(), await predict(), await predict({ key: 'store-0042' })];
    expect(answers.map((a) => a.body.version)).toEqual([1, 1, 1]);
    // A request naming its version is not mirrored: no shadow answer to score.
    const explicit = await predict({ version: 1 });
    await until(async () => (await compared()) >= 3);

    const feedback = await t.request('POST', '/v1/feedback', {
      body: {
        items: [
          { predictionId: answers[0].body.predictionId, actual: 2.5 },
          { predictionId: answers[1].body.predictionId, actual: 2.5 },
          { model: 'forecast', key: 'store-0042', actual: [[2.5]] },
          { predictionId: explicit.body.predictionId, actual: 2.5 },
        ],
      },
    });
    expect(feedback.status).toBe(200);
    expect(feedback.body.results.map((r: { version: number; mae: number }) => [r.version, r.mae])).toEqual([
      [1, 0.5],
      [1, 0.5],
      [1, 0.5],
      [1, 0.5],
    ]);
    const quality = await t.request('GET', '/v1/models/forecast/quality');
    expect(quality.body.versions).toEqual([expect.objectContaining({ version: 1, count: 4, mae: 0.5 }), expect.objectContaining({ version: 2, count: 1 })]);
    expect(quality.body.mirrored).toEqual([expect.objectContaining({ version: 2, count: 3, values: 3, mae: 1.5, bias: 1.5 })]);
  });

  it('scores the shadow again when a later actual replaces an earlier one', async () => {
    const answer = await predict();
    await until(async () => (await compared()) >= 4);
    for (const actual of [0, 4]) expect((await t.request('POST', '/v1/feedback', { body: { predictionId: answer.body.predictionId, actual } })).status).toBe(200);
    const mirrored = (await t.request('GET', '/v1/models/forecast/quality')).body.mirrored;
    // Shadow answered 4 against an actual of 4: one more scored, with no error.
    expect(mirrored).toEqual([expect.objectContaining({ version: 2, count: 4, mae: (1.5 * 3 + 0) / 4 })]);
  });
});
