import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

/**
 * A model deleted and registered again under its name starts with a clean prediction log:
 * predictions its former self made in the second before the delete (still in the log writer's
 * buffer then) must not be written afterwards and count as the new model's.
 */
describe('prediction log of a deleted model (e2e)', () => {
  let app: TestApp;
  const old = buildLinearModel({ weights: [1, 2, 3, 4, 5, 6], bias: 1 }); // 22 for six ones
  const renewed = buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 0 }); // 6 for six ones
  const ones = { float_input: [[1, 1, 1, 1, 1, 1]] };

  beforeAll(async () => {
    app = await startTestApp();
  }, 60_000);
  afterAll(async () => app?.dispose());

  it('drops predictions still buffered when the model is deleted, so they never reach the new model', async () => {
    expect((await app.request('POST', '/v1/models/reborn/versions', { body: artifactForm(old.bytes) })).status).toBe(201);
    const predicted = await app.request('POST', '/v1/predict', { body: { model: 'reborn', inputs: ones, key: 'store-1' } });
    expect(predicted.status).toBe(200);
    expect(predicted.body.outputs.variable).toEqual([[22]]);

    // At once, while that prediction waits in the log writer's buffer (written every second).
    expect((await app.request('DELETE', '/v1/models/reborn')).status).toBe(204);
    expect((await app.request('POST', '/v1/models/reborn/versions', { body: artifactForm(renewed.bytes) })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past the writer's next flush

    const byId = await app.request('POST', '/v1/feedback', { body: { predictionId: predicted.body.predictionId, actual: [[20]] } });
    expect(byId.status).toBe(404);
    expect(byId.body.error.code).toBe('PREDICTION_NOT_FOUND');
    const byKey = await app.request('POST', '/v1/feedback', { body: { model: 'reborn', key: 'store-1', actual: [[20]] } });
    expect(byKey.status).toBe(404);
    const quality = await app.request('GET', '/v1/models/reborn/quality');
    expect(quality.status).toBe(200);
    expect(quality.body.versions).toEqual([]);
  }, 60_000);
});
