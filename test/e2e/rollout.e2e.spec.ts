import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/** Traffic rules and bulk rollouts over HTTP (what serving does with them is in serving's tests). */
describe('rollout', () => {
  let t: TestApp;
  const versionBytes = (bias: number) => buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias }).bytes;
  const upload = (name: string, bias: number, fields: Parameters<typeof artifactForm>[1] = {}) =>
    t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(versionBytes(bias), fields) });

  beforeAll(async () => {
    t = await startTestApp();
    for (let v = 1; v <= 5; v++) expect((await upload('ruled', v)).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('traffic rules', () => {
    it('sets, reads and replaces a split with a mirror', async () => {
      const put = await t.request('PUT', '/v1/models/ruled/traffic', { body: { split: { '3': 90, '4': 10 }, mirror: { version: 5, percent: 20 } } });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ model: 'ruled', split: { '3': 90, '4': 10 }, mirror: { version: 5, percent: 20 }, comparison: [] });
      const get = await t.request('GET', '/v1/models/ruled/traffic');
      expect(get.body).toMatchObject({ split: { '3': 90, '4': 10 }, mirror: { version: 5, percent: 20 } });
      const replaced = await t.request('PUT', '/v1/models/ruled/traffic', { body: { split: { '2': 100 } } });
      expect(replaced.body).toMatchObject({ split: { '2': 100 }, mirror: null });
    });

    it.each([
      [{ split: { '3': 90, '4': 20 } }, /sum to 100/],
      [{ split: { three: 100 } }, /version number/],
      [{ split: { '3': -1, '4': 101 } }, /from 0 to 100/],
      [{ mirror: { version: 5, percent: 0 } }, /above 0/],
      [{ mirror: { version: 'five', percent: 10 } }, /mirror.version/],
      [{}, /split, a mirror or both/],
      [{ split: { '1': 100 }, extra: true }, /Unknown field/],
    ])('answers 400 for %j', async (body, message) => {
      const res = await t.request('PUT', '/v1/models/ruled/traffic', { body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_TRAFFIC_RULE');
      expect(res.body.error.message).toMatch(message);
    });

    it('refuses versions that do not exist and models that do not', async () => {
      expect((await t.request('PUT', '/v1/models/ruled/traffic', { body: { split: { '9': 100 } } })).body.error.code).toBe('VERSION_NOT_FOUND');
      expect((await t.request('PUT', '/v1/models/nobody/traffic', { body: { split: { '1': 100 } } })).status).toBe(404);
      expect((await t.request('GET', '/v1/models/nobody/traffic')).status).toBe(404);
    });

    it('answers 409 on deleting a version the rule points at', async () => {
      await t.request('PUT', '/v1/models/ruled/traffic', { body: { split: { '1': 50, '2': 50 }, mirror: { version: 3, percent: 5 } } });
      for (const v of [1, 3]) {
        const res = await t.request('DELETE', `/v1/models/ruled/versions/${v}`);
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('VERSION_IN_USE');
      }
      expect((await t.request('DELETE', '/v1/models/ruled/versions/4')).status).toBe(204);
    });

    it('removes a rule, and audits every change', async () => {
      expect((await t.request('DELETE', '/v1/models/ruled/traffic')).status).toBe(204);
      expect((await t.request('DELETE', '/v1/models/ruled/traffic')).status).toBe(404);
      expect((await t.request('GET', '/v1/models/ruled/traffic')).body).toMatchObject({ split: null, mirror: null });
      expect((await t.request('DELETE', '/v1/models/ruled/versions/3')).status).toBe(204);
      const audit = await t.request('GET', '/v1/audit?action=model.traffic.set');
      expect(audit.body.items.length).toBeGreaterThanOrEqual(3);
    });
  });

  describe('versions a rule may combine', () => {
    const feats = buildLinearModel({ weights: [1, 1, 1], bias: 0, inputName: 'feats' }).bytes;
    const x = buildLinearModel({ weights: [1, 1], bias: 0, inputName: 'x' }).bytes;
    const put = (name: string, body: object) => t.request('PUT', `/v1/models/${name}/traffic`, { body });

    beforeAll(async () => {
      // sig: v1 feats[N,3], v2 x[N,2], v3 feats[N,3]
      for (const bytes of [feats, x, feats]) expect((await t.request('POST', '/v1/models/sig/versions', { body: artifactForm(bytes) })).status).toBe(201);
    });

    it('refuses a split between versions that take different inputs, saying how they differ', async () => {
      const res = await put('sig', { split: { '1': 50, '2': 50 } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_TRAFFIC_RULE');
      expect(res.body.error.message).toMatch(/Versions 1 and 2 of the split take different inputs/);
      expect(res.body.error.message).toMatch(/v1 takes input 'feats' float32 \[N,3\], v2 does not/);
      expect(res.body.error.message).toMatch(/v2 takes input 'x' float32 \[N,2\], v1 does not/);
      expect(res.body.error.details).toMatchObject({ versions: [1, 2] });
      expect((await t.request('GET', '/v1/models/sig/traffic')).body).toMatchObject({ split: null, mirror: null });
      // Refused before anything was warmed: no version of it was loaded for nothing.
      expect(((await t.request('GET', '/v1/cache')).body.models as Array<{ model: string }>).filter((m) => m.model === 'sig')).toEqual([]);
    });

    it('refuses a mirror whose inputs differ from the primary, and a mirror to the only version that serves', async () => {
      expect((await put('sig', { split: { '1': 100 }, mirror: { version: 2, percent: 10 } })).body.error.message).toMatch(/Mirror version 2 takes different inputs from version 1/);
      expect((await put('sig', { split: { '3': 100 }, mirror: { version: 3, percent: 10 } })).body.error.message).toMatch(/mirrored to itself/);
      // no split, no alias production: the latest (3) serves
      expect((await put('sig', { mirror: { version: 3, percent: 10 } })).body.error.message).toMatch(/Mirror version 3 is the version that serves every request \(the latest version/);
      expect((await put('sig', { mirror: { version: 2, percent: 10 } })).status).toBe(400);
      expect((await put('sig', { split: { '1': 50, '3': 50 }, mirror: { version: 3, percent: 10 } })).status).toBe(200);
      await t.request('PUT', '/v1/models/sig/aliases/production', { body: { version: 1 } });
      expect((await put('sig', { mirror: { version: 3, percent: 10 } })).status).toBe(200);
    });

    it('refuses a mirror rollout that would mirror a model to different inputs, changing nothing', async () => {
      for (const bytes of [feats, x]) {
        expect((await t.request('POST', '/v1/models/sig-bulk/versions', { body: artifactForm(bytes, { tags: { family: 'sig' } }) })).status).toBe(201);
      }
      await t.request('PUT', '/v1/models/sig-bulk/aliases/production', { body: { version: 1 } });
      const res = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 100, selector: { tags: { family: 'sig' } } } });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/'sig-bulk': Mirror version 2 takes different inputs from version 1/);
      expect(res.body.error.details.refused).toEqual([{ model: 'sig-bulk', reason: expect.stringMatching(/'feats'/) }]);
      expect((await t.request('GET', '/v1/models/sig-bulk/traffic')).body).toMatchObject({ split: null, mirror: null });
    });

    it('refuses to roll back a mirror rollout where the mirror it would restore no longer takes the inputs of the rule it would join', async () => {
      const upload = (bytes: Buffer) => t.request('POST', '/v1/models/rb/versions', { body: artifactForm(bytes, { tags: { family: 'rb' } }) });
      for (const bytes of [feats, feats, feats]) expect((await upload(bytes)).status).toBe(201);
      expect((await put('rb', { split: { '1': 100 }, mirror: { version: 2, percent: 50 } })).status).toBe(200);
      const rollout = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 100, selector: { tags: { family: 'rb' } } } });
      expect(rollout.body.changes).toEqual([{ model: 'rb', before: { version: 2, percent: 50 }, after: { version: 3, percent: 100 } }]);
      // Since then the model moved on to versions taking other inputs.
      for (const bytes of [x, x]) expect((await upload(bytes)).status).toBe(201);
      expect((await put('rb', { split: { '4': 100 }, mirror: { version: 5, percent: 10 } })).status).toBe(200);
      const res = await t.request('POST', `/v1/rollouts/${rollout.body.id}/rollback`);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'ROLLOUT_CONFLICT', details: { model: 'rb', version: 2 } });
      expect(res.body.error.message).toMatch(/would mirror to version 2 again, which no longer fits its rule/);
      expect((await t.request('GET', '/v1/models/rb/traffic')).body).toMatchObject({ split: { '4': 100 }, mirror: { version: 5, percent: 10 } });
    });

    it('leaves out of a mirror rollout, and lists, the models not retrained since their production version (nothing new to compare)', async () => {
      for (const name of ['retrained', 'not-retrained']) {
        expect((await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(feats, { tags: { family: 'nightly' } }) })).status).toBe(201);
        await t.request('PUT', `/v1/models/${name}/aliases/production`, { body: { version: 1 } });
      }
      expect((await t.request('POST', '/v1/models/retrained/versions', { body: artifactForm(feats, { tags: { family: 'nightly' } }) })).status).toBe(201);
      const res = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 100, selector: { tags: { family: 'nightly' } } } });
      expect(res.status).toBe(201);
      expect(res.body.changes).toEqual([{ model: 'retrained', before: null, after: { version: 2, percent: 100 } }]);
      expect(res.body.skipped).toEqual([{ model: 'not-retrained', reason: expect.stringMatching(/Mirror version 1 is the version that serves every request \(alias production/) }]);
      expect((await t.request('GET', '/v1/models/not-retrained/traffic')).body).toMatchObject({ split: null, mirror: null });
      expect((await t.request('POST', `/v1/rollouts/${res.body.id}/rollback`)).status).toBe(200);
    });
  });

  describe('deleting a model under a rule', () => {
    it.each([
      ['doomed-split', { split: { '1': 50, '2': 50 } }],
      ['doomed-mirror', { mirror: { version: 2, percent: 50 } }],
    ])('deletes %s with its rule, and a model of that name starts without one', async (name, rule) => {
      for (const v of [1, 2]) expect((await upload(name, v)).status).toBe(201);
      await t.request('PUT', `/v1/models/${name}/aliases/production`, { body: { version: 1 } });
      expect((await t.request('PUT', `/v1/models/${name}/traffic`, { body: rule })).status).toBe(200);
      const res = await t.request('DELETE', `/v1/models/${name}`);
      expect(res.status).toBe(204);
      expect((await t.request('GET', `/v1/models/${name}/traffic`)).status).toBe(404);
      expect((await upload(name, 7)).status).toBe(201);
      expect((await t.request('GET', `/v1/models/${name}/traffic`)).body).toMatchObject({ split: null, mirror: null });
      expect((await t.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } } })).body.version).toBe(1);
    });

    it('deletes a model whose rule a bulk mirror rollout set', async () => {
      for (const v of [1, 2]) expect((await upload('doomed-bulk', v, { tags: { family: 'doomed' } })).status).toBe(201);
      await t.request('PUT', '/v1/models/doomed-bulk/aliases/production', { body: { version: 1 } });
      const rollout = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 100, selector: { tags: { family: 'doomed' } } } });
      expect(rollout.status).toBe(201);
      expect((await t.request('DELETE', '/v1/models/doomed-bulk')).status).toBe(204);
      expect((await t.request('GET', '/v1/models/doomed-bulk')).status).toBe(404);
      // Rolling back skips the deleted model: it has nothing left to restore.
      const back = await t.request('POST', `/v1/rollouts/${rollout.body.id}/rollback`);
      expect(back.status).toBe(200);
      expect(back.body.rolledBackAt).not.toBeNull();
    });
  });

  describe('rolling back after a version was deleted', () => {
    const noSql = (message: string) => expect(message).not.toMatch(/table|constraint|insert|violates|model_aliases|traffic_rule/i);

    it('refuses an alias rollback whose earlier version is gone, naming model and version, and changes nothing', async () => {
      for (const [name, tag] of [['gone-alias', 'gone-a'], ['kept-alias', 'gone-a']]) {
        for (const v of [1, 2]) expect((await upload(name, v, { tags: { family: tag } })).status).toBe(201);
        await t.request('PUT', `/v1/models/${name}/aliases/production`, { body: { version: 1 } });
      }
      const rollout = await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'production', selector: { tags: { family: 'gone-a' } } } });
      expect(rollout.status).toBe(201);
      expect((await t.request('DELETE', '/v1/models/gone-alias/versions/1')).status).toBe(204);
      const back = await t.request('POST', `/v1/rollouts/${rollout.body.id}/rollback`);
      expect(back.status).toBe(409);
      expect(back.body.error.code).toBe('ROLLBACK_VERSION_GONE');
      expect(back.body.error.message).toMatch(/'gone-alias' no longer has version 1/);
      expect(back.body.error.details).toMatchObject({ model: 'gone-alias', version: 1 });
      noSql(back.body.error.message);
      // all or nothing: the other model was not rolled back either, nor the rollout marked
      expect((await t.request('GET', '/v1/models/kept-alias')).body.aliases).toEqual({ production: 2 });
      expect((await t.request('GET', `/v1/rollouts/${rollout.body.id}`)).body.rolledBackAt).toBeNull();
    });

    it('refuses a mirror rollback whose earlier mirror version is gone', async () => {
      for (const v of [1, 2, 3]) expect((await upload('gone-mirror', v, { tags: { family: 'gone-m' } })).status).toBe(201);
      expect((await t.request('PUT', '/v1/models/gone-mirror/traffic', { body: { split: { '1': 100 }, mirror: { version: 2, percent: 10 } } })).status).toBe(200);
      const rollout = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 50, selector: { tags: { family: 'gone-m' } } } });
      expect(rollout.status).toBe(201);
      expect((await t.request('DELETE', '/v1/models/gone-mirror/versions/2')).status).toBe(204);
      const back = await t.request('POST', `/v1/rollouts/${rollout.body.id}/rollback`);
      expect(back.status).toBe(409);
      expect(back.body.error).toMatchObject({ code: 'ROLLBACK_VERSION_GONE', details: { model: 'gone-mirror', version: 2 } });
      noSql(back.body.error.message);
      expect((await t.request('GET', '/v1/models/gone-mirror/traffic')).body).toMatchObject({ split: { '1': 100 }, mirror: { version: 3, percent: 50 } });
    });

    it('removes a rule a mirror rollout created, rather than leave an empty one', async () => {
      for (const v of [1, 2]) expect((await upload('mirror-made', v, { tags: { family: 'mirror-made' } })).status).toBe(201);
      await t.request('PUT', '/v1/models/mirror-made/aliases/production', { body: { version: 1 } });
      const rollout = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 50, selector: { tags: { family: 'mirror-made' } } } });
      expect((await t.request('POST', `/v1/rollouts/${rollout.body.id}/rollback`)).status).toBe(200);
      expect((await t.request('DELETE', '/v1/models/mirror-made/traffic')).status).toBe(404);
    });
  });

  describe('bulk rollouts', () => {
    const stores = Array.from({ length: 30 }, (_, i) => `store-${String(i).padStart(3, '0')}`);

    beforeAll(async () => {
      for (const s of stores) {
        expect((await upload(s, 1, { tags: { family: 'demand' }, segment: { store: s } })).status).toBe(201);
        await t.request('PUT', `/v1/models/${s}/aliases/production`, { body: { version: 1 } });
        expect((await upload(s, 2)).status).toBe(201); // the nightly retrain
      }
      expect((await upload('other-family', 1, { tags: { family: 'other' } })).status).toBe(201);
    });

    const aliasesOf = async (name: string) => (await t.request('GET', `/v1/models/${name}`)).body.aliases;

    it("promotes every selected model's latest version at once and rolls back at once", async () => {
      const res = await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'production', to: 'latest', selector: { tags: { family: 'demand' } } } });
      expect(res.status).toBe(201);
      expect(res.body.changes).toHaveLength(stores.length);
      expect(res.body.changes[0]).toEqual({ model: 'store-000', before: 1, after: 2 });
      for (const s of stores) expect(await aliasesOf(s)).toEqual({ production: 2 });
      expect(await aliasesOf('other-family')).toEqual({});

      const back = await t.request('POST', `/v1/rollouts/${res.body.id}/rollback`);
      expect(back.status).toBe(200);
      expect(back.body.rolledBackAt).not.toBeNull();
      for (const s of stores) expect(await aliasesOf(s)).toEqual({ production: 1 });
      expect((await t.request('POST', `/v1/rollouts/${res.body.id}/rollback`)).status).toBe(409);
    });

    it('removes an alias on rollback where the rollout created it', async () => {
      const res = await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'staging', selector: { segment: { store: 'store-007' } } } });
      expect(await aliasesOf('store-007')).toEqual({ production: 1, staging: 2 });
      await t.request('POST', `/v1/rollouts/${res.body.id}/rollback`);
      expect(await aliasesOf('store-007')).toEqual({ production: 1 });
    });

    it('mirrors every selected model to its latest version, and rolls the mirrors back', async () => {
      await t.request('PUT', '/v1/models/store-001/traffic', { body: { split: { '1': 100 } } });
      const res = await t.request('POST', '/v1/rollouts', { body: { kind: 'mirror', percent: 100, selector: { tags: { family: 'demand' } } } });
      expect(res.status).toBe(201);
      const rule = (await t.request('GET', '/v1/models/store-001/traffic')).body;
      expect(rule).toMatchObject({ split: { '1': 100 }, mirror: { version: 2, percent: 100 } });
      expect((await t.request('GET', '/v1/models/store-002/traffic')).body).toMatchObject({ split: null, mirror: { version: 2, percent: 100 } });
      await t.request('POST', `/v1/rollouts/${res.body.id}/rollback`);
      expect((await t.request('GET', '/v1/models/store-001/traffic')).body).toMatchObject({ split: { '1': 100 }, mirror: null });
    });

    it('lists rollouts and refuses selectors that select everything or nothing', async () => {
      const list = await t.request('GET', '/v1/rollouts');
      expect(list.body.items.length).toBeGreaterThanOrEqual(3);
      expect((await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'production', selector: {} } })).status).toBe(400);
      expect((await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'production', selector: { tags: { family: 'none' } } } })).status).toBe(404);
      expect((await t.request('POST', '/v1/rollouts', { body: { kind: 'split', selector: { tags: { family: 'demand' } } } })).status).toBe(400);
      expect((await t.request('GET', '/v1/rollouts/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    });
  });

  describe('serving by the rules', () => {
    // Version v of 'served' adds bias v to the first feature: the answer tells which version ran.
    const row = [10, 0, 0, 0, 0, 0];
    const predict = (body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      t.request('POST', '/v1/predict', { body: { model: 'served', inputs: { float_input: [row] }, ...body }, headers });
    const waitFor = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
    };

    beforeAll(async () => {
      for (let v = 1; v <= 4; v++) expect((await upload('served', v)).status).toBe(201);
    });

    it('loads the versions of a rule before it switches', async () => {
      expect((await t.request('PUT', '/v1/models/served/traffic', { body: { split: { '1': 50, '2': 50 } } })).status).toBe(200);
      const cache = await t.request('GET', '/v1/cache');
      const loaded = cache.body.models.filter((m: { model: string; state: string }) => m.model === 'served' && m.state === 'ready').map((m: { version: number }) => m.version);
      expect(loaded.sort()).toEqual([1, 2]);
    });

    it('splits requests in proportion, and answers with the version that served', async () => {
      const counts: Record<number, number> = { 1: 0, 2: 0 };
      for (let i = 0; i < 200; i++) {
        const res = await predict();
        expect(res.status).toBe(200);
        expect(res.headers.get('x-model-version')).toBe(String(res.body.version));
        expect(res.body.outputs.variable[0][0]).toBeCloseTo(10 + res.body.version, 4);
        counts[res.body.version]++;
      }
      // 50/50 over 200: standard deviation ~7, so ±4σ
      expect(Math.abs(counts[1] - 100)).toBeLessThan(30);
    });

    it('keeps one routing key on one version, from the header or the body', async () => {
      expect((await t.request('PUT', '/v1/models/served/traffic', { body: { split: { '1': 50, '2': 50 } } })).status).toBe(200);
      for (const key of ['store-0001', 'store-0002', 'store-0003']) {
        const first = (await predict({}, { 'x-routing-key': key })).body.version;
        for (let i = 0; i < 10; i++) expect((await predict({}, { 'x-routing-key': key })).body.version).toBe(first);
        expect((await predict({ key })).body.version).toBe(first);
        // The same key lands on the same version through the other protocols too.
        for (let i = 0; i < 5; i++) {
          const oip = await t.request('POST', '/v2/models/served/infer', {
            body: { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 6], data: row }] },
            headers: { 'x-routing-key': key },
          });
          expect(oip.body.model_version).toBe(String(first));
          const mlflow = await t.request('POST', '/v1/models/served/invocations', { body: { inputs: [row] }, headers: { 'x-routing-key': key } });
          expect(mlflow.headers.get('x-model-version')).toBe(String(first));
        }
      }
    });

    it('lets an explicit version or alias win over the rule', async () => {
      expect((await predict({ version: 4 })).body.version).toBe(4);
      await t.request('PUT', '/v1/models/served/aliases/staging', { body: { version: 3 } });
      expect((await predict({ alias: 'staging' })).body.version).toBe(3);
    });

    it('mirrors without changing answers, and compares the figures', async () => {
      const put = await t.request('PUT', '/v1/models/served/traffic', { body: { split: { '1': 100 }, mirror: { version: 2, percent: 100 } } });
      expect(put.status).toBe(200);
      for (let i = 0; i < 20; i++) {
        const res = await predict();
        expect(res.body).toMatchObject({ version: 1 });
        expect(res.body.outputs.variable[0][0]).toBeCloseTo(11, 4);
      }
      let comparison: Array<Record<string, number>> = [];
      await waitFor(async () => {
        comparison = (await t.request('GET', '/v1/models/served/traffic')).body.comparison;
        return comparison[0]?.count >= 20;
      });
      // every pair: primary 11, shadow 12 → |diff| 1, relative 1/11
      expect(comparison[0]).toMatchObject({ primaryVersion: 1, shadowVersion: 2, shadowErrors: 0 });
      expect(comparison[0].count).toBeGreaterThanOrEqual(20);
      expect(comparison[0].meanAbsDiff).toBeCloseTo(1, 4);
      expect(comparison[0].maxAbsDiff).toBeCloseTo(1, 4);
      expect(comparison[0].p95RelDiff).toBeCloseTo(1 / 11, 4);
    });

    it('mirrors OIP and MLflow requests by the same rule, and never a request that named its version or alias', async () => {
      const pairs = async () => (await t.request('GET', '/v1/models/served/traffic')).body.comparison as Array<{ primaryVersion: number; shadowVersion: number; count: number }>;
      const before = (await pairs()).find((p) => p.primaryVersion === 1 && p.shadowVersion === 2)!.count;
      const oip = (path: string) => t.request('POST', path, { body: { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 6], data: row }] } });
      for (let i = 0; i < 5; i++) {
        expect((await oip('/v2/models/served/infer')).body.model_version).toBe('1');
        expect((await t.request('POST', '/v1/models/served/invocations', { body: { inputs: [row] } })).status).toBe(200);
      }
      // explicit choices: not the rule's traffic
      for (let i = 0; i < 5; i++) {
        expect((await predict({ version: 1 })).body.version).toBe(1);
        expect((await predict({ alias: 'staging' })).body.version).toBe(3);
        expect((await oip('/v2/models/served/versions/1/infer')).status).toBe(200);
        expect((await oip('/v2/models/served/versions/staging/infer')).status).toBe(200);
      }
      await waitFor(async () => ((await pairs())[0]?.count ?? 0) >= before + 10);
      await new Promise((r) => setTimeout(r, 300)); // any stray mirrored call would have landed by now
      const after = await pairs();
      expect(after.map((p) => `${p.primaryVersion}>${p.shadowVersion}`)).toEqual(['1>2']);
      expect(after[0].count).toBe(before + 10);
    });

    it('never fails an answer when the shadow version fails', async () => {
      const shadow = (await t.request('GET', '/v1/models/served/versions/4')).body;
      // version 4 shares its artifact with no other version: remove the blob so it cannot load
      await t.request('POST', '/v1/models/served/unload', { body: { version: 4 } });
      fs.rmSync(path.join(t.storeDir, 'sha256', shadow.sha256));
      await t.request('PUT', '/v1/models/served/traffic', { body: { split: { '1': 100 }, mirror: { version: 4, percent: 100 } } });
      for (let i = 0; i < 10; i++) {
        const res = await predict();
        expect(res.status).toBe(200);
        expect(res.body.version).toBe(1);
      }
      let figures: Record<string, number> | undefined;
      await waitFor(async () => {
        figures = (await t.request('GET', '/v1/models/served/traffic')).body.comparison.find((c: { shadowVersion: number }) => c.shadowVersion === 4);
        return (figures?.count ?? 0) >= 10;
      });
      expect(figures).toMatchObject({ primaryVersion: 1, shadowVersion: 4, meanAbsDiff: null });
      expect(figures!.shadowErrors).toBe(figures!.count);
    });
  });
});
