import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runCli, tempHome } from '../support/cli';
import { defaultFixtures } from '../fixtures/onnx-builder';
import { ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(180_000);

const sh = promisify(execFile);

/** Waits until the server printed something matching `pattern` (the demo seeds after listening). */
async function waitForOutput(t: TestApp, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = t.output().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the output within ${timeoutMs} ms:\n${t.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The first start of the embedded default, as a new user runs it: no DATABASE_URL, no
 * MMS_ADMIN_TOKEN, MMS_DEMO unset. The demo tenant is seeded once, and what it prints works.
 */
describe('the demo tenant on a first start', () => {
  let t: TestApp;
  let banner: string;
  let rootToken: string;
  const bearer = (credential: string, extra: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${credential}`, ...extra } });
  const asRootInDemo = () => bearer(rootToken, { 'x-tenant': 'demo' });

  beforeAll(async () => {
    // Only this suite seeds the demo: the test apps default to MMS_DEMO=0.
    t = await startTestApp({ DATABASE_URL: '', MMS_ADMIN_TOKEN: '', MMS_DEMO: undefined });
    banner = (await waitForOutput(t, /─{20,}\n Demo tenant[\s\S]+?─{20,}\n/))[0];
    rootToken = (await waitForOutput(t, /Root token: (mms_root_\S+)/))[1];
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('seeds the demo tenant in a few seconds, after the server is listening', () => {
    const output = t.output();
    const seconds = Number(output.match(/Seeded tenant 'demo': 63 models, 66 versions in ([\d.]+) s/)![1]);
    expect(seconds).toBeLessThan(30); // a few seconds on an idle machine; generous for a loaded CI
    expect(output.indexOf('listening on')).toBeLessThan(output.indexOf('Demo tenant'));
  });

  it('creates per-store models of the better family, and one fallback per region with both families as versions', async () => {
    const all = await t.request('GET', '/v1/models?limit=1000', asRootInDemo());
    expect(all.status).toBe(200);
    const models = all.body.items as Array<{ name: string; segment: Record<string, string>; tags: Record<string, string>; latestVersion: { version: number } }>;
    expect(models).toHaveLength(63);
    const fallbacks = models.filter((m) => !m.segment.store);
    expect(fallbacks.map((m) => [m.name, m.segment])).toEqual([
      ['demand-north', { region: 'north' }],
      ['demand-south', { region: 'south' }],
      ['demand-west', { region: 'west' }],
    ]);
    const stores = models.filter((m) => m.segment.store);
    for (const region of ['north', 'south', 'west']) expect(stores.filter((m) => m.segment.region === region)).toHaveLength(20);
    for (const m of stores) {
      expect(m.latestVersion.version).toBe(1);
      expect(m.tags.algo).toBe(Number(m.tags.mae_gbt) < Number(m.tags.mae_linear) ? 'gbt' : 'linear');
    }
    // Both families won some stores.
    expect(new Set(stores.map((m) => m.tags.algo))).toEqual(new Set(['linear', 'gbt']));
    const fallback = await t.request('GET', '/v1/models/demand-north', asRootInDemo());
    expect(fallback.body.versions.map((v: { version: number; tags: Record<string, string> }) => [v.version, v.tags.algo])).toEqual([
      [1, 'linear'],
      [2, 'gbt'],
    ]);
    const { mae_linear: linearMae, mae_gbt: treeMae } = fallback.body.tags;
    expect(fallback.body.aliases.production).toBe(Number(treeMae) < Number(linearMae) ? 2 : 1);
    expect(fallback.body.description).toMatch(/^Daily unit sales for the north region/);
    // Nothing landed in the default tenant.
    expect((await t.request('GET', '/v1/models', bearer(rootToken))).body.items).toEqual([]);
  });

  it('prints a scorer key and a curl that returns a forecast by segment', async () => {
    expect(banner).toContain(`root credential   ${rootToken}`);
    const scorerKey = banner.match(/demo scorer key\s+(mmsk_\S+)/)![1];
    const keys = await t.request('GET', '/v1/models?limit=1', bearer(scorerKey));
    expect(keys.status).toBe(200);
    const curl = banner.match(/ {3}(curl -s [\s\S]+?\/v1\/predict)\n/)![1];
    expect(curl).toContain(t.baseUrl);
    const { stdout } = await sh('bash', ['-c', curl]);
    const forecast = JSON.parse(stdout);
    expect(forecast).toMatchObject({ model: 'demand-north-0001', version: expect.any(Number), outputs: { variable: [[expect.any(Number)]] } });
    expect(forecast.outputs.variable[0][0]).toBeGreaterThan(0);
    // A store without a model of its own is served by its region's fallback.
    const newStore = banner.match(/"store":"(\d{4})"\) is served by demand-north/)![1];
    const fallback = await t.request('POST', '/v1/predict', {
      ...bearer(scorerKey),
      body: { segment: { region: 'north', store: newStore }, inputs: { float_input: [[4, 1, 3.49, 55, 51, 22]] } },
    });
    expect(fallback.body.model).toBe('demand-north');
  });

  it('writes the demo CSV and a batch job body into the data directory', () => {
    const csv = fs.readFileSync(path.join(t.dataDir, 'demo', 'sales.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('store,region,date,day_of_week,promo,price,lag_7,lag_28,temperature');
    expect(csv).toHaveLength(1 + 63 * 7);
    expect(csv[1]).toMatch(/^0001,north,2026-11-24,\d,[01],[\d.]+,\d+,\d+,-?[\d.]+$/);
    expect(csv.some((line) => line.startsWith('0061,north,'))).toBe(true);
    const job = JSON.parse(fs.readFileSync(path.join(t.dataDir, 'demo', 'batch-job.json'), 'utf8'));
    expect(job).toMatchObject({ input: { uri: 'demo/sales.csv' }, route: { by: 'segment', columns: ['region', 'store'] } });
    expect(banner).toContain('npx mms batch submit');
  });

  it('scores the demo CSV with mms batch submit --watch', async () => {
    const home = tempHome();
    const env = { HOME: home, MMS_URL: t.baseUrl, MMS_TOKEN: rootToken, MMS_TENANT: 'demo' };
    const run = await runCli(['batch', 'submit', path.join(t.dataDir, 'demo', 'batch-job.json'), '--watch', '--interval', '200'], env, { timeoutMs: 120_000 });
    expect(run.stderr).toMatch(/Submitted batch job \S+/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Status:\s+succeeded/);
    expect(run.stdout).toMatch(/Rows:\s+441\/441 done/);
    const id = run.stderr.match(/Submitted batch job (\S+)/)![1];
    const output = await runCli(['batch', 'output', id], env);
    const lines = output.stdout.trim().split('\n');
    expect(lines[0]).toBe('region,store,date,model,version,variable');
    expect(lines).toHaveLength(1 + 441);
    expect(lines.find((l) => l.startsWith('north,0061,'))).toMatch(/^north,0061,2026-11-2\d,demand-north,\d,/);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('never seeds twice: a restart prints no demo and changes nothing', async () => {
    const before = (await t.request('GET', '/v1/tenants', bearer(rootToken))).body.items.length;
    await t.restart();
    await waitForOutput(t, /listening on[\s\S]*listening on/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(t.output().match(/Demo tenant "demo"/g)).toHaveLength(1);
    expect((await t.request('GET', '/v1/tenants', bearer(rootToken))).body.items).toHaveLength(before);
    expect((await t.request('GET', '/v1/models?limit=1000', asRootInDemo())).body.items).toHaveLength(63);
  });
});

describe('no demo when it is not a first start', () => {
  let t: TestApp;
  afterAll(async () => {
    await t?.dispose();
  });

  it('MMS_DEMO=0 seeds nothing; nor does a later start once the registry has models', async () => {
    t = await startTestApp({ DATABASE_URL: '', MMS_DEMO: '0' });
    expect((await t.request('GET', '/v1/tenants')).body.items.map((x: { name: string }) => x.name)).toEqual(['default']);
    // Any model makes the registry non-empty.
    const file = path.join(t.dataDir, 'one.onnx');
    fs.writeFileSync(file, defaultFixtures().linear.bytes);
    const home = tempHome();
    expect((await runCli(['models', 'register', file], { HOME: home, MMS_URL: t.baseUrl, MMS_TOKEN: ROOT_TOKEN })).code).toBe(0);
    t.env.MMS_DEMO = undefined;
    await t.restart();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(t.output()).not.toContain('Demo tenant');
    expect((await t.request('GET', '/v1/tenants')).body.items.map((x: { name: string }) => x.name)).toEqual(['default']);
    expect(fs.existsSync(path.join(t.dataDir, 'demo'))).toBe(false);
    fs.rmSync(home, { recursive: true, force: true });
  });
});
