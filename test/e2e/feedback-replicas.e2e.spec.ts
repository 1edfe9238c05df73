import { buildLinearModel, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const ROW = RETAIL_SAMPLE_ROWS[0];

/**
 * Behind a load balancer feedback may reach another replica than the prediction did, before
 * the predicting replica's next log flush (about a second). It must find the prediction then,
 * as it does on the replica that made it, not answer a final-looking 404. Only with
 * DATABASE_URL: the embedded database serves one process by construction.
 */
(process.env.DATABASE_URL ? describe : describe.skip)('feedback across replicas (one Postgres)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ DATABASE_URL: a.env.DATABASE_URL, MMS_MODEL_STORE: a.storeDir });
    expect((await a.request('POST', '/v1/models/demand/versions', { body: artifactForm(buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 0 }).bytes) })).status).toBe(201);
    // Loaded on b before the tests, so that a prediction there answers at once.
    expect((await predictOn(b)).status).toBe(200);
  });
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  const predictOn = (app: TestApp, key?: string) => app.request('POST', '/v1/predict', { body: { model: 'demand', inputs: { float_input: [ROW] }, ...(key ? { key } : {}) } });

  it('records feedback by predictionId sent to one replica right after the prediction on the other', async () => {
    const predicted = await predictOn(b);
    expect(predicted.status).toBe(200);
    const res = await a.request('POST', '/v1/feedback', { body: { predictionId: predicted.body.predictionId, actual: 4.5 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ predictionId: predicted.body.predictionId, model: 'demand', version: 1, values: 1 });
  });

  it('answers feedback by model and key at once: a fresh prediction from the other replica is found once logged, and the 404 before says so', async () => {
    const key = `0042|${Date.now()}`;
    expect((await predictOn(b, key)).status).toBe(200);
    let res = await a.request('POST', '/v1/feedback', { body: { model: 'demand', key, actual: [[150]] } });
    for (const until = Date.now() + 5000; res.status === 404 && Date.now() < until; ) {
      expect(res.body.error.message).toContain('may not be logged yet: send its predictionId, or retry');
      await new Promise((resolve) => setTimeout(resolve, 200));
      res = await a.request('POST', '/v1/feedback', { body: { model: 'demand', key, actual: [[150]] } });
    }
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model: 'demand', values: 1 });
  });

  it('records a list of fresh predictions from the other replica by id, each item found', async () => {
    const byId = await Promise.all([predictOn(b), predictOn(b), predictOn(b)]);
    const res = await a.request('POST', '/v1/feedback', { body: { items: byId.map((p) => ({ predictionId: p.body.predictionId, actual: 1 })) } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ recorded: 3, failed: 0 });
  });

  it('still answers not found for a prediction that never was', async () => {
    const res = await a.request('POST', '/v1/feedback', { body: { items: [{ model: 'missing-model', key: 'k', actual: 1 }, { predictionId: '0190a6f0-0000-7000-8000-000000000001', actual: 1 }] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ recorded: 0, failed: 2, results: [{ error: { code: 'PREDICTION_NOT_FOUND' } }, { error: { code: 'PREDICTION_NOT_FOUND', details: { reason: 'not_found' } } }] });
  });
});
