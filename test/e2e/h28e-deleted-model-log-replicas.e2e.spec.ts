import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

/**
 * The cross-replica half of h28e-deleted-model-log: a prediction buffered on replica B when
 * replica A deletes the model must not be written after A purged the model's log, where it
 * would count as a prediction of the model registered again under the name. Only with
 * DATABASE_URL: the embedded database serves one process by construction.
 */
(process.env.DATABASE_URL ? describe : describe.skip)('prediction log of a model deleted on another replica (one Postgres)', () => {
  let a: TestApp;
  let b: TestApp;
  const old = buildLinearModel({ weights: [1, 2, 3, 4, 5, 6], bias: 1 });
  const renewed = buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 0 });
  const ones = { float_input: [[1, 1, 1, 1, 1, 1]] };

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ DATABASE_URL: a.env.DATABASE_URL, MMS_MODEL_STORE: a.storeDir });
  }, 120_000);
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  it("drops B's buffered predictions of a model A deletes", async () => {
    expect((await a.request('POST', '/v1/models/reborn/versions', { body: artifactForm(old.bytes) })).status).toBe(201);
    expect((await b.request('POST', '/v1/predict', { body: { model: 'reborn', inputs: ones } })).status).toBe(200); // loaded on b
    await new Promise((resolve) => setTimeout(resolve, 1500)); // that one written: the next waits in b's buffer alone
    const predicted = await b.request('POST', '/v1/predict', { body: { model: 'reborn', inputs: ones, key: 'store-1' } });
    expect(predicted.status).toBe(200);

    expect((await a.request('DELETE', '/v1/models/reborn')).status).toBe(204);
    expect((await a.request('POST', '/v1/models/reborn/versions', { body: artifactForm(renewed.bytes) })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past b's next flush

    const byId = await a.request('POST', '/v1/feedback', { body: { predictionId: predicted.body.predictionId, actual: [[20]] } });
    expect(byId.status).toBe(404);
    expect((await a.request('POST', '/v1/feedback', { body: { model: 'reborn', key: 'store-1', actual: [[20]] } })).status).toBe(404);
    expect((await a.request('GET', '/v1/models/reborn/quality')).body.versions).toEqual([]);
  }, 60_000);
});
