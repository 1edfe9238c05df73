import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

describe('HTTPS with MMS_TLS_CERT and MMS_TLS_KEY', () => {
  let t: TestApp;
  let cert: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-tls-'));

  beforeAll(async () => {
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    cert = fs.readFileSync(certFile, 'utf8');
    t = await startTestApp({ MMS_TLS_CERT: certFile, MMS_TLS_KEY: keyFile });
  });
  afterAll(async () => {
    await t?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.get(`${t.baseUrl}${p}`, { ca: cert, headers: { authorization: `Bearer ${ROOT_TOKEN}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });

  it('serves the API over TLS with the given certificate', async () => {
    expect(t.baseUrl).toMatch(/^https:\/\//);
    expect((await get('/health/ready')).status).toBe(200);
    const models = await get('/v1/models');
    expect(models.status).toBe(200);
    expect(JSON.parse(models.body)).toEqual({ items: [], nextCursor: null });
  });

  it('refuses to boot with only one of the two files', async () => {
    await expect(startTestApp({ MMS_TLS_CERT: path.join(dir, 'cert.pem') })).rejects.toThrow(/MMS_TLS_CERT and MMS_TLS_KEY must be set together/);
  });
});
