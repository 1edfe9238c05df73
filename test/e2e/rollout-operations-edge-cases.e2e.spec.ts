import { buildLinearModel } from '../fixtures/onnx-builder';
import { withLockHolder } from '../support/test-database';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/** Races between connections need a real Postgres server; the embedded database serves one connection, so they cannot happen there. */
const needsPostgres = process.env.DATABASE_URL ? it : it.skip;

/** Safe rollout and operations as a new user meets them: the corners of API.md's Rollout and Operations parts. */
describe('rollout and operations edge cases', () => {
  let t: TestApp;
  let tenantId: string;
  let adminKey: string;

  const upload = (name: string, bias: number, fields: Parameters<typeof artifactForm>[1] = {}) =>
    t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias }).bytes, fields) });
  const jsonLines = () =>
    t
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  /** The request lines so far, once one matches `until` (the log is written asynchronously). */
  const requestLines = async (until: (line: Record<string, unknown>) => boolean) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const lines = jsonLines().filter((l) => l.msg === 'request completed');
      if (lines.some(until)) return lines;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the awaited request line never came');
  };

  beforeAll(async () => {
    t = await startTestApp({ LOG_FORMAT: 'json', LOG_LEVEL: 'debug' });
    tenantId = (await t.request('POST', '/v1/tenants', { body: { name: 'edge-retail' } })).body.id;
    adminKey = (await t.request('POST', `/v1/tenants/${tenantId}/keys`, { body: { role: 'admin' } })).body.key;
    for (let v = 1; v <= 2; v++) expect((await upload('edge-store', v * 100)).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('rollout ids', () => {
    it.each(['a'.repeat(36), '-'.repeat(36), '0123456789abcdef0123456789abcdef0123'])('answers 404 ROLLOUT_NOT_FOUND for %s, which has a UUID\'s length but is none', async (id) => {
      for (const [method, path] of [
        ['GET', `/v1/rollouts/${id}`],
        ['POST', `/v1/rollouts/${id}/rollback`],
      ]) {
        const res = await t.request(method, path);
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('ROLLOUT_NOT_FOUND');
      }
    });
  });

  describe('rollout history', () => {
    it('pages through every rollout, newest first, with limit and cursor', async () => {
      for (let v = 1; v <= 2; v++) expect((await upload('paged', v, { tags: { wave: 'paged' } })).status).toBe(201);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: `wave-${i}`, selector: { tags: { wave: 'paged' } } } });
        expect(res.status).toBe(201);
        ids.unshift(res.body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await t.request('GET', `/v1/rollouts?limit=2${cursor ? `&cursor=${cursor}` : ''}`); // eslint-disable-line @typescript-eslint/no-explicit-any
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((r: { id: string }) => r.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen.slice(0, 5)).toEqual(ids);
      expect(new Set(seen).size).toBe(seen.length);
      const all = await t.request('GET', '/v1/rollouts');
      expect(all.body.items.map((r: { id: string }) => r.id)).toEqual(seen);
      expect(all.body.nextCursor).toBeNull();
      // A well-formed cursor naming no rollout of this tenant is refused, not read as the end of the list.
      const forged = Buffer.from('00000000-0000-0000-0000-000000000000').toString('base64url');
      const refused = await t.request('GET', `/v1/rollouts?cursor=${forged}`);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('INVALID_CURSOR');
      // The last rollout's own cursor is a real one: an empty last page, not an error.
      const last = await t.request('GET', `/v1/rollouts?cursor=${Buffer.from(seen[seen.length - 1]).toString('base64url')}`);
      expect(last.status).toBe(200);
      expect(last.body.items).toEqual([]);
    });

    it.each([
      ['limit=0', 'INVALID_REQUEST'],
      ['limit=101', 'INVALID_REQUEST'],
      ['limit=two', 'INVALID_REQUEST'],
      ['page=2', 'INVALID_REQUEST'],
      ['cursor=not-a-cursor', 'INVALID_CURSOR'],
    ])('answers 400 for ?%s', async (query, code) => {
      const res = await t.request('GET', `/v1/rollouts?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(code);
    });
  });

  describe('bulk rollouts against concurrent changes', () => {
    needsPostgres('records, for rollback, the alias a concurrent change set, not one read before it (needs DATABASE_URL)', async () => {
      for (let v = 1; v <= 3; v++) expect((await upload('race-a', v, { tags: { wave: 'race' } })).status).toBe(201);
      expect((await t.request('PUT', '/v1/models/race-a/aliases/production', { body: { version: 1 } })).status).toBe(200);
      // The version the rollout will name, loaded beforehand: the rollout's prewarm then touches nothing the other caller holds.
      expect((await t.request('POST', '/v1/predict', { body: { model: 'race-a', version: 3, inputs: { float_input: [[1, 0, 0, 0, 0, 0]] } } })).status).toBe(200);
      // Another caller's alias change, caught half-way: it holds the model's row lock, as PUT …/aliases does, and has moved the alias.
      await withLockHolder(t.env.DATABASE_URL!, async (other, waitForLockWait) => {
        await other.query(`SELECT id FROM models WHERE name = 'race-a' FOR UPDATE`);
        await other.query(`UPDATE model_aliases SET version = 2 WHERE alias = 'production' AND model_id = (SELECT id FROM models WHERE name = 'race-a')`);
        const rollout = t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'production', selector: { tags: { wave: 'race' } } } });
        // Wait until the rollout waits for that caller's locks, then let the caller commit.
        await waitForLockWait('%model_aliases%', '%FROM models%');
        await other.query('COMMIT');
        const res = await rollout;
        expect(res.status).toBe(201);
        expect(res.body.changes).toEqual([{ model: 'race-a', before: 2, after: 3 }]);
        expect((await t.request('POST', `/v1/rollouts/${res.body.id}/rollback`)).status).toBe(200);
        expect((await t.request('GET', '/v1/models/race-a')).body.aliases.production).toBe(2);
      });
    });
  });

  describe('sticky routing', () => {
    it('keeps a routing key on its version on every protocol, and across a restart', async () => {
      expect((await t.request('PUT', '/v1/models/edge-store/traffic', { body: { split: { '1': 50, '2': 50 } } })).status).toBe(200);
      const row = [1, 0, 0, 0, 0, 0];
      const versionsOf = async (key: string) => {
        const headers = { 'x-routing-key': key };
        const predict = await t.request('POST', '/v1/predict', { body: { model: 'edge-store', key, inputs: { float_input: [row] } } });
        const oip = await t.request('POST', '/v2/models/edge-store/infer', { headers, body: { inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: row }] } });
        const mlflow = await t.request('POST', '/v1/models/edge-store/invocations', { headers, body: { inputs: [row] } });
        return [predict.body.version, Number(oip.body.model_version), Number(mlflow.headers.get('x-model-version'))];
      };
      const keys = Array.from({ length: 20 }, (_, i) => `store-${i}|2026-11-24`);
      const before = await Promise.all(keys.map(versionsOf));
      for (const versions of before) expect(new Set(versions).size).toBe(1);
      expect(new Set(before.map((v) => v[0]))).toEqual(new Set([1, 2])); // 20 keys over a 50/50 split land on both
      await t.restart();
      expect(await Promise.all(keys.map(versionsOf))).toEqual(before);
    });
  });

  describe('request log', () => {
    it('masks a key or token a caller put in the URL, the model name or the request id', async () => {
      const asAdmin = { authorization: `Bearer ${adminKey}` };
      const secretOfKey = adminKey.slice('mmsk_'.length + 17);
      await t.request('GET', `/metrics?token=${ROOT_TOKEN}`, { headers: { authorization: '' } });
      await t.request('GET', `/v1/models?limit=5&access_token=${adminKey}`, { headers: { authorization: '' } });
      await t.request('GET', `/v1/models/${adminKey}`, { headers: asAdmin });
      await t.request('POST', '/v1/predict', { headers: asAdmin, body: { model: adminKey, inputs: {} } });
      const requestId = `req-${adminKey}`;
      await t.request('GET', '/v1/models', { headers: { ...asAdmin, 'x-request-id': requestId } });
      const lines = await requestLines((l) => l.route === '/v1/models' && l.status === 200);
      expect(lines.find((l) => l.route === '/metrics' && l.status === 401)?.url).toBe('/metrics?token=[REDACTED]');
      expect(lines.find((l) => l.route === '/v1/models' && l.status === 401)?.url).toBe('/v1/models?limit=5&access_token=[REDACTED]');
      const output = t.output();
      expect(output).not.toContain(ROOT_TOKEN);
      expect(output).not.toContain(secretOfKey);
    });
  });
});
