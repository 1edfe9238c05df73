import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultFixtures, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { runCli, tempHome } from '../support/cli';
import { runNode } from '../support/processes';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** What a new user meets following the README and /docs literally, example by example. */
describe('README walkthrough', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('PUT /v1/models/{name}/aliases/{alias}', () => {
    it.each([['a string', { version: '3' }], ['no version', {}], ['0', { version: 0 }]])('answers %s with the one thing wrong, not "must not be less than 1"', async (_what, body) => {
      const res = await t.request('PUT', '/v1/models/demand-north-0042/aliases/production', { body });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'version must be a whole number from 1 to 2147483647, as a JSON number (not a string)',
      });
      expect(res.body.error.details.problems).toHaveLength(1);
    });
  });

  describe('mms predict --version', () => {
    it('picks the version (as mms predict --help says), where it printed the CLI version', async () => {
      const fixtures = defaultFixtures();
      for (const kind of ['linear', 'tree'] as const) {
        expect((await t.request('POST', '/v1/models/demand-two/versions', { body: artifactForm(fixtures[kind].bytes) })).status).toBe(201);
      }
      const env = { MMS_URL: t.baseUrl, MMS_TOKEN: ROOT_TOKEN, HOME: tempHome() };
      const input = JSON.stringify({ float_input: [RETAIL_SAMPLE_ROWS[1]] });
      const run = await runCli(['predict', 'demand-two', '--input', input, '--version', '1', '--json'], env);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ model: 'demand-two', version: 1 });
      expect((await runCli(['predict', 'demand-two', '--version=1', '--input', input, '--json'], env)).stdout).toContain('"version": 1');
      // The CLI's own version, before any command.
      for (const flag of ['--version', '-V']) expect((await runCli([flag], env)).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    });
  });

  describe('GET /docs/json', () => {
    it('describes a text/csv invocations body as CSV text, not as a JSON object', async () => {
      const docs = await t.request('GET', '/docs/json', { headers: { authorization: '' } });
      const content = docs.body.paths['/v1/models/{name}/invocations'].post.requestBody.content;
      expect(content['application/json'].schema).toMatchObject({ type: 'object', example: { dataframe_split: expect.any(Object) } });
      expect(content['text/csv'].schema).toMatchObject({ type: 'string', example: expect.stringMatching(/^day_of_week,promo,price,lag_7,lag_28,temperature\n4,1,3\.49,55,51,22\n$/) });
    });

    it('gives every route its success status, DELETE of a version too (204)', async () => {
      const docs = await t.request('GET', '/docs/json', { headers: { authorization: '' } });
      const missing = Object.entries(docs.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>).flatMap(([route, operations]) =>
        Object.entries(operations).filter(([, op]) => !Object.keys(op.responses).some((status) => status.startsWith('2'))).map(([method]) => `${method.toUpperCase()} ${route}`),
      );
      expect(missing).toEqual([]);
      expect(docs.body.paths['/v1/models/{name}/versions/{version}'].delete.responses).toHaveProperty('204');
    });

    it("gives a tenant's cacheShare the bounds the server checks (0.01 to 1)", async () => {
      const docs = await t.request('GET', '/docs/json', { headers: { authorization: '' } });
      const cacheShare = docs.body.components.schemas.UpdateTenantDto.properties.cacheShare;
      expect(cacheShare).toMatchObject({ minimum: 0.01, maximum: 1 });
      expect(cacheShare.description).not.toContain('(0, 1]');
      const tenant = await t.request('POST', '/v1/tenants', { body: { name: 'share-bounds' } });
      expect((await t.request('PATCH', `/v1/tenants/${tenant.body.id}`, { body: { cacheShare: 0.005 } })).status).toBe(400);
      expect((await t.request('PATCH', `/v1/tenants/${tenant.body.id}`, { body: { cacheShare: 0.01 } })).body.limits.cacheShare).toBe(0.01);
    });
  });
});

/**
 * `npm start` on a busy :8080 (or stopped before the demo was seeded): the first start printed
 * the root token and kept its hash; the next start seeds the demo and prints the banner.
 */
describe('the demo banner on the start after the one that generated the root token', () => {
  it('points at the token printed before, not at an MMS_ADMIN_TOKEN that was never set', async () => {
    const t = await startTestApp({ DATABASE_URL: '', MMS_ADMIN_TOKEN: '', MMS_DEMO: '0' });
    try {
      expect(t.output()).toMatch(/Root token: mms_root_\S+/);
      t.env.MMS_DEMO = '1';
      await t.restart();
      const deadline = Date.now() + 90_000;
      let banner: RegExpMatchArray | null = null;
      while (!(banner = t.output().match(/─{20,}\n Demo tenant[\s\S]+?─{20,}\n/)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(banner).not.toBeNull();
      expect(banner![0]).not.toContain('MMS_ADMIN_TOKEN');
      expect(banner![0]).toMatch(/root credential {3}the Root token an earlier start printed \(mms_root_…; delete root-token.sha256 in the data directory for a new one\)/);
      expect(banner![0]).toMatch(/npx mms login --url \S+ --tenant demo --token mms_root_…\n/);
    } finally {
      await t.dispose();
    }
  });
});

describe('npm start on a port another process holds (the README assumes :8080 is free)', () => {
  it('says which port is taken and how to pick another', async () => {
    const t = await startTestApp();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-data-'));
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-store-'));
    try {
      const port = new URL(t.baseUrl).port;
      const run = await runNode('src/main.js', [], { ...t.env, PORT: port, MMS_DATA_DIR: dataDir, MMS_MODEL_STORE: storeDir });
      expect(run.code).toBe(1);
      expect(run.output).toContain(`Cannot start: port ${port} on 127.0.0.1 is in use by another process: stop it, or set PORT to a free port (PORT=0 picks one)`);
    } finally {
      await t.dispose();
      for (const dir of [dataDir, storeDir]) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
