import { startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/** Uploads whose multipart framing a client got wrong: refused in API.md's error body, never a 500. */
describe('multipart boundary of an upload', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('answers 400 for a boundary longer than RFC 2046 allows (busboy cannot search for it)', async () => {
    const boundary = 'x'.repeat(300);
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="m.onnx"\r\n\r\nabc\r\n--${boundary}--\r\n`;
    const res = await t.request('POST', '/v1/models/long-boundary/versions', { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect([res.status, res.body.error?.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(res.body.error.message).toContain('boundary');
  });
});
