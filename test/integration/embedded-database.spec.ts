import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultFixtures } from '../fixtures/onnx-builder';
import { deadPid, runNode, spawnNode } from '../support/processes';
import { sha256Hex } from '../support/registry-fixtures';
import { useTempDir } from '../support/temp-dir';
import { artifactForm, filesUnder, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The zero-setup default: the compiled service on its embedded PGlite (DATABASE_URL unset,
 * whatever the suite runs against), one process per data directory, and the generated root
 * credential. Everything here runs real processes.
 */
describe('the embedded default', () => {
  const EMBEDDED = { DATABASE_URL: '' };
  const MAIN = 'src/main.js';
  const EMBEDDED_CLI = 'src/database/embedded-cli.js';

  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const printedToken = (output: string) => /Root token: (mms_root_[A-Za-z0-9_-]+)/.exec(output)?.[1];
  const STACK_FRAME = /\n\s+at \S+ \(/;
  const lockHolder = (dataDir: string) => Number.parseInt(fs.readFileSync(path.join(dataDir, 'LOCK'), 'utf8'), 10);

  describe('one service on a data directory', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(EMBEDDED);
    });
    afterAll(async () => {
      await t?.dispose();
    });

    it('keeps registered models across a restart', async () => {
      const upload = await t.request('POST', '/v1/models/kept-0001/versions', {
        body: artifactForm(defaultFixtures().linear.bytes, { segment: { store: '0001' }, tags: { algo: 'linear' } }),
      });
      expect(upload.status).toBe(201);
      await t.restart();
      const model = await t.request('GET', '/v1/models/kept-0001');
      expect(model.status).toBe(200);
      expect(model.body).toMatchObject({ segment: { store: '0001' }, tags: { algo: 'linear' }, versions: [{ version: 1, sha256: upload.body.sha256 }] });
      expect(t.output()).toContain(`embedded PGlite in ${t.dataDir}`);
    });

    it.each([MAIN, EMBEDDED_CLI])('refuses a second process (%s) on the same data directory, and the first keeps running', async (script) => {
      const second = await runNode(script, [], t.env);
      expect(second.code).not.toBe(0);
      expect(second.output).toContain(`in ${t.dataDir} is in use by process ${lockHolder(t.dataDir)}`);
      expect(second.output).toContain('MMS_DATA_DIR');
      expect((await t.request('GET', '/v1/models')).status).toBe(200);
    });

    it('says why in one line, without a stack trace, as main.ts intends for a locked data directory', async () => {
      const { output } = await runNode(MAIN, [], t.env);
      expect(output).toMatch(/Cannot start: The embedded database in .* is in use/);
      expect(output).not.toMatch(STACK_FRAME);
    });
  });

  describe('the data directory lock', () => {
    const tempDir = useTempDir('mms-lock-');

    it('takes over a LOCK left by a dead process', async () => {
      const dataDir = tempDir();
      fs.writeFileSync(path.join(dataDir, 'LOCK'), `${deadPid()} ${randomUUID()}\n`);
      const { proc } = await spawnNode(EMBEDDED_CLI, [dataDir], {}, /DATABASE_URL=(\S+)/);
      try {
        expect(lockHolder(dataDir)).toBe(proc.child.pid);
      } finally {
        await proc.stop();
      }
    });
  });

  describe('the generated root credential', () => {
    let t: TestApp;
    let token: string;
    beforeAll(async () => {
      t = await startTestApp({ ...EMBEDDED, MMS_ADMIN_TOKEN: '' });
      token = printedToken(t.output()) ?? '';
    });
    afterAll(async () => {
      await t?.dispose();
    });

    /** What the server printed from now on (its output accumulates across restarts). */
    const restartAndCapture = async () => {
      const before = t.output().length;
      await t.restart();
      return t.output().slice(before);
    };

    it('is printed once on first start and authenticates', async () => {
      expect(token).toMatch(/^mms_root_[A-Za-z0-9_-]{32,}$/); // at least 192 random bits
      expect((await t.request('GET', '/v1/models', bearer(token))).status).toBe(200);
      expect((await t.request('GET', '/v1/models', bearer(`${token}x`))).status).toBe(401);
    });

    it('is kept only as its SHA-256 in the data directory, never in clear text', () => {
      expect(fs.readFileSync(path.join(t.dataDir, 'root-token.sha256'), 'utf8').trim()).toBe(sha256Hex(token));
      const holders = filesUnder(t.dataDir).filter((file) => fs.readFileSync(file).includes(token));
      expect(holders).toEqual([]);
    });

    it('is not printed again after a restart, and still works', async () => {
      const output = await restartAndCapture();
      expect(output).toMatch(/listening on/);
      expect(output).not.toContain('Root token:');
      expect((await t.request('GET', '/v1/models', bearer(token))).status).toBe(200);
    });

    it('is replaced by a new one when its hash file is deleted', async () => {
      fs.rmSync(path.join(t.dataDir, 'root-token.sha256'));
      const fresh = printedToken(await restartAndCapture());
      expect(fresh).toEqual(expect.stringMatching(/^mms_root_/));
      expect(fresh).not.toBe(token);
      expect((await t.request('GET', '/v1/models', bearer(fresh!))).status).toBe(200);
      expect((await t.request('GET', '/v1/models', bearer(token))).status).toBe(401);
    });
  });

  describe('boots that must refuse', () => {
    const tempDir = useTempDir('mms-boot-');

    const boot = (env: NodeJS.ProcessEnv) =>
      runNode(MAIN, [], { PORT: '0', HOST: '127.0.0.1', MMS_ADMIN_TOKEN: '', MMS_DATA_DIR: path.join(tempDir(), 'data'), MMS_MODEL_STORE: path.join(tempDir(), 'store'), ...env });

    it('refuses DATABASE_URL without MMS_ADMIN_TOKEN, naming it rather than failing on the database', async () => {
      // Nothing listens on port 1: had the database failed first, the error would be a refused connection.
      const { code, output } = await boot({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' });
      expect(code).toBe(1);
      expect(output).toMatch(/Cannot start: MMS_ADMIN_TOKEN is required when DATABASE_URL is set/);
      expect(output).not.toMatch(/ECONNREFUSED/);
      expect(output).not.toContain('Root token:');
    });

    it.each([
      ['PORT', 'abc'],
      ['MMS_ADMIN_TOKEN', 'too-short'],
      ['MMS_DB_POOL_SIZE', '0'],
      ['DATABASE_URL', 'mysql://root@localhost/db'],
    ])('stops at %s=%s with a message naming the variable, before creating its directories', async (name, value) => {
      const { code, output } = await boot({ [name]: value });
      expect(code).toBe(1);
      expect(output).toMatch(new RegExp(`Cannot start: Invalid configuration:\\s+${name}=`));
      expect(output).not.toMatch(STACK_FRAME); // the user's mistake, not the code's
      expect(fs.readdirSync(tempDir())).toEqual([]);
    });

    it('quotes the bad value as it was given', async () => {
      const { output } = await boot({ PORT: 'abc' });
      expect(output).toMatch(/PORT="abc"/);
    });
  });
});
