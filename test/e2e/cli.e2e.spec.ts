import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { corruptOnnxBytes, defaultFixtures, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { runCli, tempHome } from '../support/cli';
import { mlflowZip } from '../support/mlflow-zip';
import { ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The `mms` CLI, compiled, against the compiled service: every command over the real HTTP API,
 * checking what people see (tables, progress, the API's error messages), what scripts get
 * (--json) and the exit codes.
 */
describe('mms CLI', () => {
  let t: TestApp;
  let home: string;
  let modelsDir: string;
  const fixtures = defaultFixtures();
  const asRoot = () => ({ MMS_URL: t.baseUrl, MMS_TOKEN: ROOT_TOKEN, HOME: home });
  const mms = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { ...asRoot(), ...env });
  const input = JSON.stringify({ float_input: [RETAIL_SAMPLE_ROWS[1]] });

  beforeAll(async () => {
    t = await startTestApp();
    home = tempHome();
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-models-'));
    // Four stores over two regions, a zipped MLflow model named by its sidecar, a corrupt file, and a file that is not a model.
    const kinds = ['linear', 'tree', 'mlp', 'linear'] as const;
    ['north-0001', 'north-0002', 'south-0003', 'south-0004'].forEach((store, i) => fs.writeFileSync(path.join(modelsDir, `demand-${store}.onnx`), fixtures[kinds[i]].bytes));
    fs.writeFileSync(path.join(modelsDir, 'demand-west-0005.onnx'), corruptOnnxBytes());
    fs.writeFileSync(path.join(modelsDir, 'demand-west-0006.zip'), await mlflowZip(fixtures.tree.bytes, { folder: 'model' }));
    fs.writeFileSync(path.join(modelsDir, 'demand-west-0006.zip.json'), JSON.stringify({ tags: { flavor: 'mlflow' }, description: 'zipped MLflow model' }));
    fs.writeFileSync(path.join(modelsDir, 'README.md'), 'not a model');
  });
  afterAll(async () => {
    await t?.dispose();
    for (const dir of [home, modelsDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('models register', () => {
    let run: Awaited<ReturnType<typeof runCli>>;
    beforeAll(async () => {
      run = await mms(['models', 'register', modelsDir, '--segment-pattern', 'demand-{region}-{store}', '--tag', 'family=demand', '--concurrency', '3']);
    });

    it('registers every model file of the folder with the segment read from its name', async () => {
      const list = await t.request('GET', '/v1/models?tag.family=demand&limit=100');
      const byName = Object.fromEntries(list.body.items.map((m: { name: string }) => [m.name, m]));
      expect(Object.keys(byName).sort()).toEqual(['demand-north-0001', 'demand-north-0002', 'demand-south-0003', 'demand-south-0004', 'demand-west-0006']);
      expect(byName['demand-north-0002'].segment).toEqual({ region: 'north', store: '0002' });
      expect(byName['demand-west-0006']).toMatchObject({ segment: { region: 'west', store: '0006' }, tags: { family: 'demand', flavor: 'mlflow' } });
      expect(byName['demand-west-0006'].latestVersion).toMatchObject({ format: 'mlflow', description: 'zipped MLflow model' });
    });

    it('reports progress per file, a table of what registered and a summary listing the failure, and exits 1', () => {
      expect(run.code).toBe(1);
      // Not a terminal: one progress line per file on stderr.
      expect(run.stderr).toMatch(/\[\d\/6\] registered demand-north-0001 version 1/);
      expect(run.stderr).toMatch(/\[\d\/6\] FAILED demand-west-0005\.onnx: The artifact is not a model the ONNX runtime can load/);
      expect(run.stderr).toContain('Registered 5 of 6 files; 1 failed:');
      expect(run.stderr).toMatch(/demand-west-0005\.onnx\s+demand-west-0005\s+ARTIFACT_INVALID: /);
      expect(run.stdout).toMatch(/^NAME\s+VERSION\s+SEGMENT\s+FILE\n/);
      expect(run.stdout).toMatch(/demand-south-0003\s+1\s+region=south,store=0003\s+demand-south-0003\.onnx/);
      expect(run.stdout).not.toContain('README');
    });

    it('draws a progress bar when asked (as on a terminal), exits 0 when all went in, and adds versions', async () => {
      const again = await mms(['models', 'register', path.join(modelsDir, 'demand-north-0001.onnx'), path.join(modelsDir, 'demand-north-0002.onnx'), '--segment-pattern', 'demand-{region}-{store}.onnx', '--progress', 'bar']);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/100% \| 2\/2 files/);
      expect(again.stderr).toContain('Registered 2 of 2 files.');
      expect(again.stdout).toMatch(/demand-north-0001\s+2\s+region=north,store=0001/);
    });

    it('gives scripts JSON with the registered versions and the failures', async () => {
      const res = await mms(['--json', 'models', 'register', path.join(modelsDir, 'demand-south-0004.onnx'), path.join(modelsDir, 'demand-west-0005.onnx'), '--segment-pattern', 'demand-{region}-{store}.onnx']);
      expect(res.code).toBe(1);
      const out = JSON.parse(res.stdout);
      expect(out.registered).toEqual([expect.objectContaining({ name: 'demand-south-0004', version: 2, format: 'onnx', segment: { region: 'south', store: '0004' } })]);
      expect(out.failed).toEqual([expect.objectContaining({ name: 'demand-west-0005', error: expect.objectContaining({ status: 422, code: 'ARTIFACT_INVALID' }) })]);
      expect(res.stderr).toBe('');
    });

    it('names files that do not fit the pattern without sending them, and shows a plan with --dry-run', async () => {
      const res = await mms(['models', 'register', modelsDir, '--segment-pattern', 'demand-{region}-{store}.onnx', '--dry-run']);
      expect(res.code).toBe(1); // the .zip does not fit a pattern that ends in .onnx
      expect(res.stdout).toMatch(/demand-west-0006\.zip\s+demand-west-0006\s+-\s+-\s+the file name does not match --segment-pattern/);
      expect(res.stdout).toMatch(/demand-north-0001\.onnx\s+demand-north-0001\s+region=north,store=0001/);
    });

    it('registers a file listed in segments.json with that segment, though its name does not fit the pattern', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-segments-'));
      fs.writeFileSync(path.join(dir, 'seg-north.onnx'), fixtures.linear.bytes);
      fs.writeFileSync(path.join(dir, 'seg-south-0002.onnx'), fixtures.tree.bytes);
      fs.writeFileSync(path.join(dir, 'segments.json'), JSON.stringify({ 'seg-north.onnx': { region: 'north' } }));
      // A tenant of its own, so these models stay out of the listings below.
      expect((await t.request('POST', '/v1/tenants', { body: { name: 'cli-segments' } })).status).toBe(201);
      const res = await mms(['models', 'register', dir, '--segment-pattern', 'seg-{region}-{store}.onnx'], { MMS_TENANT: 'cli-segments' });
      expect(res.stderr).not.toContain('NOT_SENT');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/seg-north\s+1\s+region=north\s+seg-north\.onnx/);
      expect(res.stdout).toMatch(/seg-south-0002\s+1\s+region=south,store=0002\s+seg-south-0002\.onnx/);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('refuses a directory without models and a wrong flag before sending anything', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-empty-'));
      const none = await mms(['models', 'register', empty]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no .onnx or .zip model files');
      fs.rmSync(empty, { recursive: true });
      const bad = await mms(['models', 'register', modelsDir, '--concurrency', 'many']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--concurrency must be a positive whole number');
    });
  });

  describe('models ls and show', () => {
    it('lists models as a table, filtered by segment, tag and name', async () => {
      const res = await mms(['models', 'ls', '--segment', 'region=north', '--tag', 'family=demand']);
      expect(res.code).toBe(0);
      const lines = res.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+LATEST\s+SEGMENT\s+TAGS\s+UPDATED$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['demand-north-0001', 'demand-north-0002']);
      expect(lines[1]).toMatch(/demand-north-0001\s+2\s+region=north,store=0001\s+family=demand/);
      const q = await mms(['models', 'ls', '-q', 'south', '--json']);
      expect(JSON.parse(q.stdout).items.map((m: { name: string }) => m.name)).toEqual(['demand-south-0003', 'demand-south-0004']);
    });

    it('pages with --limit and --cursor, or follows every page with --all', async () => {
      const first = await mms(['--json', 'models', 'ls', '--limit', '2']);
      const page = JSON.parse(first.stdout);
      expect(page.items).toHaveLength(2);
      expect(page.nextCursor).toEqual(expect.any(String));
      const second = await mms(['--json', 'models', 'ls', '--limit', '2', '--cursor', page.nextCursor]);
      expect(JSON.parse(second.stdout).items[0].name > page.items[1].name).toBe(true);
      const people = await mms(['models', 'ls', '--limit', '2']);
      expect(people.stderr).toContain(`More models: add --cursor ${page.nextCursor} (or --all)`);
      const all = await mms(['--json', 'models', 'ls', '--all']);
      expect(JSON.parse(all.stdout)).toMatchObject({ nextCursor: null });
      expect(JSON.parse(all.stdout).items).toHaveLength(5);
    });

    it('shows a model with its versions, aliases and signature; --json is the API body', async () => {
      await t.request('PUT', '/v1/models/demand-north-0001/aliases/production', { body: { version: 1 } });
      const res = await mms(['models', 'show', 'demand-north-0001']);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/Segment:\s+region=north,store=0001/);
      expect(res.stdout).toMatch(/Aliases:\s+production → 1/);
      expect(res.stdout).toMatch(/\n1\s+onnx\s+\d+(\.\d)? (B|KiB)\s+[0-9a-f]{12}\s/);
      expect(res.stdout).toMatch(/input\s+float_input\s+float32\s+\[N, 6\]/);
      expect(res.stdout).toMatch(/output\s+variable\s+float32\s+\[N, 1\]/);
      const asJson = await mms(['models', 'show', 'demand-north-0001', '--json']);
      expect(JSON.parse(asJson.stdout)).toEqual((await t.request('GET', '/v1/models/demand-north-0001')).body);
    });

    it("exits 1 with the API's message for a model that is not there", async () => {
      const res = await mms(['models', 'show', 'no-such-model']);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe("Error: Model 'no-such-model' not found (MODEL_NOT_FOUND, HTTP 404)\n");
      expect(res.stdout).toBe('');
    });
  });

  describe('predict and traffic', () => {
    it('predicts by model name and by segment, falling back to the region model', async () => {
      const byName = await mms(['predict', 'demand-south-0003', '--input', input]);
      expect(byName.code).toBe(0);
      expect(byName.stdout).toMatch(/^demand-south-0003 version 1/);
      expect(byName.stdout).toMatch(/variable\s+\[\[-?[0-9.]+\]\]/);
      await mms(['models', 'register', path.join(modelsDir, 'demand-south-0003.onnx'), '--name', 'demand-south', '--segment', 'region=south']);
      const bySegment = JSON.parse((await mms(['--json', 'predict', '--segment', 'region=south,store=0099', '--input', input])).stdout);
      expect(bySegment).toMatchObject({ model: 'demand-south', version: 1 });
      expect(bySegment.outputs.variable[0][0]).toBeCloseTo(fixtures.mlp.expected([RETAIL_SAMPLE_ROWS[1]])[0][0], 3);
    });

    it("exits 1 with the API's message on a bad input, and 2 on a bad --input", async () => {
      const bad = await mms(['predict', 'demand-south-0003', '--input', '{"float_input":[[1,2]]}']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^Error: .*float_input.*\(INVALID_INPUT, HTTP 400\)\n$/);
      const notJson = await mms(['predict', 'demand-south-0003', '--input', '{oops']);
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain('--input is not valid JSON');
    });

    it('sets and shows a traffic split with a mirror', async () => {
      const set = await mms(['traffic', 'set', 'demand-north-0001', '--split', '1=90,2=10', '--mirror', '2:20']);
      expect(set.code).toBe(0);
      expect(set.stdout).toBe('Traffic of demand-north-0001: v1 90%, v2 10%; mirror v2 20%\n');
      const shown = JSON.parse((await mms(['--json', 'traffic', 'show', 'demand-north-0001'])).stdout);
      expect(shown).toMatchObject({ split: { '1': 90, '2': 10 }, mirror: { version: 2, percent: 20 } });
      const wrong = await mms(['traffic', 'set', 'demand-north-0001', '--split', '1=90,2=20']);
      expect(wrong.code).toBe(2);
      const missing = await mms(['traffic', 'set', 'demand-north-0001', '--split', '1=50,7=50']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^Error: .*7.*HTTP 4\d\d\)\n$/);
      expect((await mms(['traffic', 'clear', 'demand-north-0001'])).code).toBe(0);
    });
  });

  describe('batch', () => {
    const FEATURES = ['dow', 'promo', 'price', 'lag_7', 'lag_28', 'temp'];
    /** retail/seg.csv: 4 rows for each of five stores; east has no model, and 1 + 4 rows hold values that are not numbers. */
    beforeAll(() => {
      const stores = [['north', '0001'], ['north', '0002'], ['south', '0003'], ['south', '0004'], ['east', '0009']];
      const lines = [['region', 'store', ...FEATURES].join(',')];
      stores.forEach(([region, store]) =>
        RETAIL_SAMPLE_ROWS.slice(0, 4).forEach((row, r) => {
          const values = row.map(String);
          if (store === '0001' && r === 2) values[2] = 'cheap';
          if (store === '0003') values[3] = `n/a${r}`;
          lines.push([region, store, ...values].join(','));
        }),
      );
      fs.mkdirSync(path.join(t.dataDir, 'retail'), { recursive: true });
      fs.writeFileSync(path.join(t.dataDir, 'retail', 'seg.csv'), `${lines.join('\n')}\n`);
      fs.writeFileSync(path.join(t.dataDir, 'retail', 'clean.csv'), `${lines.filter((l) => l.startsWith('region') || l.startsWith('north,0002')).join('\n')}\n`);
    });
    const submit = (file: string, ...more: string[]) =>
      mms(['batch', 'submit', '--input', `retail/${file}`, '--route-segment', 'region,store', '--features', FEATURES.join(','), '--watch', '--interval', '100', '--progress', 'none', ...more]);

    it('lists partitions with failed rows and why, and exits 3 when the job succeeded with failed rows; batch status agrees', async () => {
      const run = await submit('seg.csv');
      expect(run.stdout).toMatch(/Rows:\s+20\/20 done, 9 failed/);
      expect(run.stdout).toMatch(/Partitions:\s+4\/5 succeeded, 1 failed/);
      expect(run.stdout).not.toContain('Failed partitions');
      expect(run.stdout).toContain('Partitions with failed rows (3):');
      expect(run.stdout).toMatch(/^PARTITION\s+ROUTE\s+MODEL\s+STATUS\s+ROWS FAILED\s+ERROR$/m);
      expect(run.stdout).toMatch(/region=north, store=0001\s+demand-north-0001 v\d+\s+succeeded\s+1\s+rows refused, see below/);
      expect(run.stdout).toMatch(/region=south, store=0003\s+demand-south-0003 v\d+\s+succeeded\s+4\s+rows refused, see below/);
      expect(run.stdout).toMatch(/region=east, store=0009\s+-\s+failed\s+4\s+NO_MODEL_FOR_SEGMENT/);
      // Row-level reasons: the row number in the input and what was wrong, the first 3 per partition.
      expect(run.stdout).toMatch(/^\d+\s+3\s+feature 'price' = "cheap" is not a valid float32$/m);
      for (const row of [9, 10, 11]) expect(run.stdout).toMatch(new RegExp(`^\\d+\\s+${row}\\s+feature 'lag_7' = "n/a${row - 9}" is not a valid float32$`, 'm'));
      expect(run.stdout).not.toContain('"n/a3"');
      expect(run.stdout).toMatch(/partition \d+: 1 more failed row/);
      expect(run.stderr).toMatch(/Warning: Batch job \S+ succeeded, but 9 of 20 rows failed/);
      expect(run.code).toBe(3);

      const id = /Job:\s+(\S+)/.exec(run.stdout)![1];
      const status = await mms(['batch', 'status', id]);
      expect(status.code).toBe(3);
      expect(status.stdout).toContain('Partitions with failed rows (3):');
      const asJson = await mms(['--json', 'batch', 'show', id]);
      expect(asJson.code).toBe(3);
      expect(JSON.parse(asJson.stdout).progress.rows).toMatchObject({ failed: 9 });
    });

    it('exits 0 only when every row scored, and 1 when the job failed', async () => {
      const clean = await submit('clean.csv');
      expect(clean.stdout).not.toContain('failed rows');
      expect(clean.code).toBe(0);
      const failed = await submit('seg.csv', '--error-threshold', '0');
      expect(failed.stdout).toMatch(/Status:\s+failed/);
      expect(failed.stderr).toMatch(/^Error: Batch job \S+ failed/m);
      expect(failed.code).toBe(1);
    });
  });

  describe('keys, tenants and login', () => {
    it("creates a tenant and keys by the tenant's name; a scorer key limited to demand-* sees only those", async () => {
      expect((await mms(['tenants', 'create', 'cli-acme'])).code).toBe(0);
      const admin = await mms(['keys', 'create', '--tenant', 'cli-acme', '--role', 'admin']);
      expect(admin.code).toBe(0);
      const adminKey = admin.stdout.trim();
      expect(adminKey).toMatch(/^mmsk_[a-z0-9]+_\S+$/);
      expect(admin.stderr).toContain('shown once');
      const publisher = JSON.parse((await mms(['--json', 'keys', 'create', '--role', 'publisher'], { MMS_TOKEN: adminKey })).stdout);
      expect(publisher).toMatchObject({ role: 'publisher', key: expect.stringMatching(/^mmsk_/) });
      const up = await mms(['models', 'register', path.join(modelsDir, 'demand-north-0001.onnx'), path.join(modelsDir, 'demand-north-0002.onnx')], { MMS_TOKEN: publisher.key });
      expect(up.code).toBe(0);
      await mms(['models', 'register', path.join(modelsDir, 'demand-south-0003.onnx'), '--name', 'other-model'], { MMS_TOKEN: publisher.key });
      const scorer = await mms(['keys', 'create', '--role', 'scorer', '--models', 'demand-*'], { MMS_TOKEN: adminKey });
      const scorerKey = scorer.stdout.trim();
      const seen = JSON.parse((await mms(['--json', 'models', 'ls'], { MMS_TOKEN: scorerKey })).stdout);
      expect(seen.items.map((m: { name: string }) => m.name)).toEqual(['demand-north-0001', 'demand-north-0002']);
      expect((await mms(['predict', 'demand-north-0001', '--input', input], { MMS_TOKEN: scorerKey })).code).toBe(0);
      expect((await mms(['predict', 'other-model', '--input', input], { MMS_TOKEN: scorerKey })).code).toBe(1);
      const listed = await mms(['keys', 'ls'], { MMS_TOKEN: adminKey });
      expect(listed.stdout).toMatch(/scorer\s+demand-\*/);
      expect(listed.stdout).not.toContain(scorerKey);
      const forbidden = await mms(['keys', 'create', '--role', 'admin'], { MMS_TOKEN: scorerKey });
      expect(forbidden.code).toBe(1);
      const root = await mms(['keys', 'create', '--role', 'scorer']);
      expect(root.code).toBe(2);
      expect(root.stderr).toContain('--tenant');
    });

    it('login checks the credential and keeps it in ~/.config/mms/config.json with mode 600', async () => {
      const loginHome = tempHome();
      const bad = await runCli(['login', '--url', t.baseUrl, '--token', 'not-a-credential'], { HOME: loginHome });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('UNAUTHENTICATED');
      const file = path.join(loginHome, '.config', 'mms', 'config.json');
      expect(fs.existsSync(file)).toBe(false);
      const ok = await runCli(['login', '--url', t.baseUrl, '--token', ROOT_TOKEN, '--tenant', 'cli-acme'], { HOME: loginHome });
      expect(ok.code).toBe(0);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ url: t.baseUrl, token: ROOT_TOKEN, tenant: 'cli-acme' });
      // Later commands need no flags; root acts in the kept tenant.
      const ls = await runCli(['--json', 'models', 'ls'], { HOME: loginHome });
      expect(JSON.parse(ls.stdout).items.map((m: { name: string }) => m.name)).toEqual(['demand-north-0001', 'demand-north-0002', 'other-model']);
      // The environment overrides what is kept.
      const env = await runCli(['--json', 'models', 'ls', '-q', 'south'], { HOME: loginHome, MMS_TENANT: 'default' });
      expect(JSON.parse(env.stdout).items.map((m: { name: string }) => m.name)).toEqual(['demand-south', 'demand-south-0003', 'demand-south-0004']);
      expect((await runCli(['logout'], { HOME: loginHome })).code).toBe(0);
      expect(fs.existsSync(file)).toBe(false);
      fs.rmSync(loginHome, { recursive: true, force: true });
    });

    it('applies the kept tenant only on the kept server, and never to tenants commands', async () => {
      const keptHome = tempHome();
      const keep = (settings: object) => {
        fs.mkdirSync(path.join(keptHome, '.config', 'mms'), { recursive: true });
        fs.writeFileSync(path.join(keptHome, '.config', 'mms', 'config.json'), JSON.stringify(settings));
      };
      // Logged in to another service, in a tenant this one does not have.
      keep({ url: 'http://127.0.0.1:1', token: 'elsewhere', tenant: 'demo-elsewhere' });
      const onThis = { HOME: keptHome, MMS_URL: t.baseUrl, MMS_TOKEN: ROOT_TOKEN };
      const created = await runCli(['tenants', 'create', 'cli-shop'], onThis);
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      expect(JSON.parse((await runCli(['--json', 'models', 'ls', '-q', 'south'], onThis)).stdout).items.length).toBeGreaterThan(0);
      // An explicit tenant still applies on any server.
      const explicit = await runCli(['--json', 'models', 'ls'], { ...onThis, MMS_TENANT: 'cli-shop' });
      expect(JSON.parse(explicit.stdout).items).toEqual([]);
      // On the kept server the kept tenant applies to tenant-scoped commands, but not to tenants or keys commands.
      keep({ url: t.baseUrl, token: ROOT_TOKEN, tenant: 'no-such-tenant' });
      const scoped = await runCli(['models', 'ls'], { HOME: keptHome });
      expect(scoped.stderr).toContain('TENANT_NOT_FOUND');
      expect((await runCli(['tenants', 'ls'], { HOME: keptHome })).stdout).toMatch(/cli-shop/);
      expect((await runCli(['tenants', 'create', 'cli-shop-2'], { HOME: keptHome })).code).toBe(0);
      const keys = await runCli(['keys', 'ls'], { HOME: keptHome });
      expect(keys.stderr).toBe("Error: No tenant named 'no-such-tenant' (mms tenants ls lists them)\n");
      fs.rmSync(keptHome, { recursive: true, force: true });
    });

    it('says what is wrong without a credential or without a service', async () => {
      const noCredential = await runCli(['models', 'ls'], { HOME: tempHome(), MMS_URL: t.baseUrl });
      expect(noCredential.code).toBe(1);
      expect(noCredential.stderr).toContain(`No credential for ${t.baseUrl}: run \`mms login\` for it`);
      const closedPort = await new Promise<number>((resolve) => {
        const server = net.createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as net.AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const noService = await mms(['models', 'ls'], { MMS_URL: `http://127.0.0.1:${closedPort}` });
      expect(noService.code).toBe(1);
      expect(noService.stderr).toMatch(new RegExp(`^Error: Cannot reach http://127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED`));
    });
  });
});
