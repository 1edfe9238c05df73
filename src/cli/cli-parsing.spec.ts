import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient } from './api-client';
import { parseMirror, parsePairs, parseSplit } from './args';
import { buildJobBody, describeJob, sameTarget } from './commands/batch';
import { labels, table } from './output';
import { buildProgram } from './program';
import { discoverCandidates } from './register/discover';
import { SegmentPattern } from './register/segment-pattern';
import { readSettings, resolveConnection, settingsPath, writeSettings } from './settings';

describe('CLI parsing', () => {
  describe('segment patterns', () => {
    it('reads {key} placeholders from a file name, with or without the extension in the pattern', () => {
      expect(new SegmentPattern('demand-{region}-{store}.onnx').match('demand-north-0042.onnx')).toEqual({ region: 'north', store: '0042' });
      expect(new SegmentPattern('demand-{region}-{store}').match('demand-north-0042.onnx')).toEqual({ region: 'north', store: '0042' });
      expect(new SegmentPattern('*_{brand}.zip').match('v2_acme.zip')).toEqual({ brand: 'acme' });
      expect(new SegmentPattern('demand-{region}-{store}.onnx').match('other.onnx')).toBeNull();
    });

    it('refuses patterns without placeholders or with odd keys', () => {
      expect(() => new SegmentPattern('demand.onnx')).toThrow(/no \{key\} placeholder/);
      expect(() => new SegmentPattern('{a b}.onnx')).toThrow(/not a usable key/);
      expect(() => new SegmentPattern('{a}-{a}.onnx')).toThrow(/twice/);
    });
  });

  describe('flags', () => {
    it('parses key=value pairs, repeated or comma-separated', () => {
      expect(parsePairs('--segment', ['region=north', 'store=0042,tier=a'])).toEqual({ region: 'north', store: '0042', tier: 'a' });
      expect(() => parsePairs('--segment', ['region'])).toThrow(/key=value/);
    });

    it('parses traffic splits and mirrors', () => {
      expect(parseSplit('3=90,4=10')).toEqual({ '3': 90, '4': 10 });
      expect(() => parseSplit('3=90,4=20')).toThrow(/add up to 100/);
      expect(() => parseSplit('three=100')).toThrow(/version=percent/);
      expect(parseMirror('5:20')).toEqual({ version: 5, percent: 20 });
      expect(() => parseMirror('5')).toThrow(/version:percent/);
    });

    it('builds a batch job body from a file and flags, flags winning', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-cli-'));
      const file = path.join(dir, 'job.json');
      fs.writeFileSync(file, JSON.stringify({ input: { uri: 'a.csv', format: 'csv' }, route: { by: 'model', column: 'model' }, features: ['x'] }));
      const body = buildJobBody(file, { input: 'b.csv', routeSegment: 'region, store', passthrough: 'store,date', maxRetries: '2', interval: '500', progress: 'auto' });
      expect(body).toEqual({ input: { uri: 'b.csv', format: 'csv' }, route: { by: 'segment', columns: ['region', 'store'] }, features: ['x'], passthrough: ['store', 'date'], maxRetries: 2 });
      expect(() => buildJobBody(undefined, { interval: '500', progress: 'auto' })).toThrow(/No input/);
      fs.rmSync(dir, { recursive: true });
    });
  });

  it("describes batch retry as the service does: failed, cancelled and partly failed jobs", () => {
    const batch = buildProgram('0').commands.find((c) => c.name() === 'batch')!;
    expect(batch.commands.find((c) => c.name() === 'retry')!.description()).toMatch(/failed, cancelled or partly failed job/);
  });

  describe('hints', () => {
    it('repeat the --url and --tenant of the command line in the commands they suggest', () => {
      expect(sameTarget({})).toBe('');
      expect(sameTarget({ tenant: 'demo', json: true })).toBe(' --tenant demo');
      const again = sameTarget({ url: 'http://127.0.0.1:3933', tenant: 'demo' });
      const text = describeJob({ id: 'j1', status: 'succeeded', output: { format: 'csv' }, errors: [{ partition: 1, route: 'store=1', error: 'x' }], errorsTotal: 21 }, again);
      expect(text).toContain('Download: mms batch output j1 --url http://127.0.0.1:3933 --tenant demo -o result.csv');
      expect(text).toContain('(mms batch show j1 --url http://127.0.0.1:3933 --tenant demo --json, or');
      expect(describeJob({ id: 'j1', status: 'succeeded', output: { format: 'csv' } })).toContain('Download: mms batch output j1 -o result.csv');
    });
  });

  describe('discovering model files', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-cli-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const touch = (name: string, text = 'x') => fs.writeFileSync(path.join(dir, name), text);

    it('takes every .onnx and .zip of a directory, with segments from the pattern, segments.json and sidecars (last wins)', () => {
      for (const f of ['demand-north-0001.onnx', 'demand-north-0002.onnx', 'demand-south-0003.zip', 'notes.txt', 'demand-odd.onnx']) touch(f);
      touch('segments.json', JSON.stringify({ 'demand-north-0002.onnx': { tier: 'gold' } }));
      touch('demand-south-0003.zip.json', JSON.stringify({ name: 'south-three', segment: { store: '3' }, tags: { algo: 'gbr' } }));
      touch('demand-odd.json', '{not json');
      const found = discoverCandidates([dir], { segmentPattern: new SegmentPattern('demand-{region}-{store}'), segment: { country: 'de' }, tags: { team: 'fc' } });
      expect(found.map((c) => path.basename(c.file))).toEqual(['demand-north-0001.onnx', 'demand-north-0002.onnx', 'demand-odd.onnx', 'demand-south-0003.zip']);
      expect(found[0]).toMatchObject({ name: 'demand-north-0001', segment: { country: 'de', region: 'north', store: '0001' }, tags: { team: 'fc' } });
      expect(found[1].segment).toEqual({ country: 'de', region: 'north', store: '0002', tier: 'gold' });
      // Its sidecar could have given its segment, so the broken sidecar is what is reported.
      expect(found[2].problem).toMatch(/demand-odd\.json is not valid JSON/);
      expect(found[3]).toMatchObject({ name: 'south-three', segment: { region: 'south', store: '3' }, tags: { team: 'fc', algo: 'gbr' } });
    });

    it('registers a file whose segment segments.json or a sidecar gives, even when its name does not fit the pattern', () => {
      for (const f of ['seg-north.onnx', 'seg-south-0002.onnx', 'seg-west.onnx', 'seg-east.onnx']) touch(f);
      touch('segments.json', JSON.stringify({ 'seg-north.onnx': { region: 'north' } }));
      touch('seg-west.json', JSON.stringify({ segment: { region: 'west' } }));
      touch('seg-east.json', JSON.stringify({ tags: { algo: 'gbr' } }));
      const found = discoverCandidates([dir], { segmentPattern: new SegmentPattern('seg-{region}-{store}.onnx'), segment: {}, tags: {} });
      const byFile = Object.fromEntries(found.map((c) => [path.basename(c.file), c]));
      expect(byFile['seg-north.onnx']).toMatchObject({ name: 'seg-north', segment: { region: 'north' } });
      expect(byFile['seg-north.onnx'].problem).toBeUndefined();
      expect(byFile['seg-west.onnx']).toMatchObject({ segment: { region: 'west' } });
      expect(byFile['seg-west.onnx'].problem).toBeUndefined();
      expect(byFile['seg-south-0002.onnx']).toMatchObject({ segment: { region: 'south', store: '0002' } });
      // A sidecar without a segment gives no reason to skip the pattern.
      expect(byFile['seg-east.onnx'].problem).toMatch(/does not match --segment-pattern/);
    });

    it('accepts a sidecar that is just the segment, and reports a bad one on its file only', () => {
      touch('a.onnx');
      touch('a.onnx.json', JSON.stringify({ region: 'west' }));
      touch('b.onnx');
      touch('b.json', JSON.stringify({ segment: { store: 42 } }));
      const found = discoverCandidates([dir], { segment: {}, tags: {} });
      expect(found[0]).toMatchObject({ name: 'a', segment: { region: 'west' } });
      expect(found[0].problem).toBeUndefined();
      expect(found[1].problem).toMatch(/object of strings/);
    });

    it('refuses an empty directory and a missing path', () => {
      expect(() => discoverCandidates([dir], { segment: {}, tags: {} })).toThrow(/no \.onnx or \.zip/);
      expect(() => discoverCandidates([path.join(dir, 'nope')], { segment: {}, tags: {} })).toThrow(/no such file/);
    });
  });

  describe('settings', () => {
    it('keeps the credential in a file only its owner can read, and lets flags and env override it', () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-home-'));
      const env = { HOME: home };
      const file = settingsPath(env);
      expect(file).toBe(path.join(home, '.config', 'mms', 'config.json'));
      writeSettings({ url: 'http://a:1', token: 'secret', tenant: 'demo' }, file);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(readSettings(file)).toEqual({ url: 'http://a:1', token: 'secret', tenant: 'demo' });
      expect(resolveConnection({}, env)).toEqual({ url: 'http://a:1', token: 'secret', tenant: 'demo' });
      expect(resolveConnection({ token: 'flag' }, { ...env, MMS_URL: 'http://b:2/' })).toEqual({ url: 'http://b:2', token: 'flag', tenant: undefined });
      expect(settingsPath({ HOME: home, XDG_CONFIG_HOME: '/x' })).toBe('/x/mms/config.json');
      fs.rmSync(home, { recursive: true });
    });

    it('applies the kept credential and tenant only on the kept server; explicit ones apply anywhere', () => {
      const stored = { url: 'http://a:1', token: 'secret', tenant: 'demo' };
      // A credential kept for one server is never sent to another.
      expect(resolveConnection({}, { MMS_URL: 'http://other:9' }, stored)).toEqual({ url: 'http://other:9', token: undefined, tenant: undefined });
      expect(resolveConnection({ url: 'http://other:9' }, {}, stored).token).toBeUndefined();
      expect(resolveConnection({}, { MMS_URL: 'http://a:1/' }, stored).token).toBe('secret');
      expect(resolveConnection({}, { MMS_URL: 'http://a:1/' }, stored).tenant).toBe('demo');
      expect(resolveConnection({}, { MMS_URL: 'http://other:9', MMS_TOKEN: 'root' }, stored)).toEqual({ url: 'http://other:9', token: 'root', tenant: undefined });
      expect(resolveConnection({ url: 'http://other:9' }, {}, stored).tenant).toBeUndefined();
      expect(resolveConnection({}, { MMS_URL: 'http://other:9', MMS_TENANT: 'shop' }, stored).tenant).toBe('shop');
      expect(resolveConnection({ url: 'http://other:9', tenant: 'shop' }, {}, stored).tenant).toBe('shop');
      // Kept without a URL: it was about the default server.
      expect(resolveConnection({}, {}, { token: 't', tenant: 'demo' }).tenant).toBe('demo');
    });
  });

  describe('x-tenant', () => {
    const sent: Array<Record<string, string>> = [];
    let realFetch: typeof fetch;
    beforeEach(() => {
      realFetch = global.fetch;
      sent.length = 0;
      global.fetch = (async (_url: unknown, init?: RequestInit) => {
        sent.push(init?.headers as Record<string, string>);
        return new Response('{}', { status: 200 });
      }) as typeof fetch;
    });
    afterEach(() => {
      global.fetch = realFetch;
    });

    it('goes with tenant-scoped requests only', async () => {
      const connection = { url: 'http://a:1', token: 'root', tenant: 'demo' };
      await new ApiClient(connection).request('GET', '/v1/models');
      await new ApiClient(connection, { sendTenant: false }).request('POST', '/v1/tenants', { json: { name: 'shop' } });
      expect(sent[0]['x-tenant']).toBe('demo');
      expect(sent[1]).not.toHaveProperty('x-tenant');
    });
  });

  it('prints aligned columns, sorted labels and dashes for empty cells', () => {
    expect(table(['A', 'LONGER'], [['x', null], ['yyy', 'z']])).toBe('A    LONGER\nx    -\nyyy  z\n');
    expect(labels({ store: '0042', region: 'north' })).toBe('region=north,store=0042');
  });
});
