import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp } from '../app.factory';

/** A start with unusable TLS files names the variables, before anything else is opened. */
describe('createApp with MMS_TLS_CERT and MMS_TLS_KEY that cannot be used', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h28f-tls-'));
  const notPem = path.join(dir, 'not.pem');
  fs.writeFileSync(notPem, 'this is no certificate\n');
  const env = (cert: string, key: string) => ({ MMS_TLS_CERT: cert, MMS_TLS_KEY: key, MMS_DATA_DIR: path.join(dir, 'data'), MMS_MODEL_STORE: path.join(dir, 'store') });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names MMS_TLS_CERT when its file is missing', async () => {
    const missing = path.join(dir, 'missing.pem');
    await expect(createApp(env(missing, notPem))).rejects.toThrow(`MMS_TLS_CERT (${missing}) cannot be read: ENOENT`);
  });

  it('names both variables when the files are not a PEM certificate and key', async () => {
    await expect(createApp(env(notPem, notPem))).rejects.toThrow(`MMS_TLS_CERT (${notPem}) and MMS_TLS_KEY (${notPem}) are not a usable PEM certificate and its key: `);
  });
});
