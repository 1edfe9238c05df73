import { buildTypedModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * An unnamed actual goes with the model's first output (README, Feedback). The logged outputs
 * come back from the database's jsonb sorted by key (shorter first, then bytewise), so the
 * "first" output was the alphabetically first one: for a model answering sum_a, sum_b, c_out
 * and d_not, an actual meant for sum_a was checked against c_out (refused as the wrong shape,
 * or, had the shapes agreed, scored against the wrong output).
 */
describe('feedback: an unnamed actual and a model with several outputs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    expect((await app.request('POST', '/v1/models/multi-out/versions', { body: artifactForm(buildTypedModel().bytes) })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.dispose();
  });

  it('scores it against the first output the model answers, not the first in key order', async () => {
    const predicted = await app.request('POST', '/v1/predict', {
      body: { model: 'multi-out', inputs: { a: [[1.5, 2]], b: [[1, 2]], c: [[1, 2]], d: [[true]] } },
    });
    expect(predicted.status).toBe(200);
    expect(Object.keys(predicted.body.outputs)[0]).toBe('sum_a');
    expect(predicted.body.outputs.sum_a).toEqual([[3.5]]);

    const res = await app.request('POST', '/v1/feedback', { body: { predictionId: predicted.body.predictionId, actual: [[3]] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ values: 1, mae: 0.5, bias: 0.5 });
    // A name still picks any output.
    const named = await app.request('POST', '/v1/feedback', { body: { predictionId: predicted.body.predictionId, actual: { c_out: [[2, 5]] } } });
    expect(named.body).toMatchObject({ values: 2, mae: 0.5 });
  });
});
