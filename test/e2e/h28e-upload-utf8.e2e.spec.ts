import { buildLinearModel } from '../fixtures/onnx-builder';
import { ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

/**
 * The text parts of an upload (segment, tags, description) are UTF-8: bytes that are not are
 * refused (400) rather than stored with U+FFFD, as JSON bodies are. A segment saved in Latin-1
 * would otherwise be a store no request ever matches.
 */
describe('upload text parts in UTF-8 (e2e)', () => {
  let app: TestApp;
  const model = buildLinearModel({ weights: [1, 2, 3, 4, 5, 6], bias: 1 });
  const boundary = 'h28e-boundary';

  /** A multipart body whose `segment` part is these exact bytes. */
  function upload(name: string, segment: Buffer): Promise<Response> {
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="segment"\r\n\r\n`),
      segment,
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="m.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      model.bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return fetch(`${app.baseUrl}/v1/models/${name}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
  }

  beforeAll(async () => {
    app = await startTestApp();
  }, 60_000);
  afterAll(async () => app?.dispose());

  it('refuses a segment in Latin-1 and leaves no model', async () => {
    const response = await upload('latin1-store', Buffer.from('{"store":"caf\xe9"}', 'latin1'));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; details: unknown } };
    expect(body.error.code).toBe('INVALID_REQUEST');
    expect(body.error.details).toEqual({ part: 'segment' });
    expect((await app.request('GET', '/v1/models/latin1-store')).status).toBe(404);
  }, 30_000);

  it('keeps a segment in UTF-8 as sent, and requests for it find the model', async () => {
    const response = await upload('utf8-store', Buffer.from('{"store":"café ☕"}', 'utf8'));
    expect(response.status).toBe(201);
    expect(((await response.json()) as { segment: unknown }).segment).toEqual({ store: 'café ☕' });
    const predicted = await app.request('POST', '/v1/predict', { body: { segment: { store: 'café ☕' }, inputs: { float_input: [[1, 1, 1, 1, 1, 1]] } } });
    expect(predicted.status).toBe(200);
    expect(predicted.body.model).toBe('utf8-store');
  }, 30_000);
});
