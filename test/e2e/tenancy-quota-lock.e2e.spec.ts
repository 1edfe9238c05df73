import { buildLinearModel } from '../fixtures/onnx-builder';
import { withLockHolder } from '../support/test-database';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

/** Races between connections need a real Postgres server; the embedded database serves one connection, so they cannot happen there. */
const needsPostgres = process.env.DATABASE_URL ? it : it.skip;

/** The upload's quota lock on the tenant row, against the other transactions of that tenant. */
describe('quota lock on the tenant row', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  needsPostgres('an upload under a quota and an alias change of the same model both succeed, not deadlock (needs DATABASE_URL)', async () => {
    const tenantId = (await t.request('POST', '/v1/tenants', { body: { name: 'quota-lock' } })).body.id;
    const headers = { 'x-tenant': tenantId };
    const upload = () => t.request('POST', '/v1/models/locked/versions', { headers, body: artifactForm(buildLinearModel({ weights: [1, 0, 0, 0, 0, 0], bias: 1 }).bytes) });
    expect((await upload()).status).toBe(201);
    expect((await t.request('PATCH', `/v1/tenants/${tenantId}`, { body: { maxModels: 10 } })).status).toBe(200);
    // Another caller's alias change, caught half-way: it holds the model's row lock, as PUT …/aliases does.
    await withLockHolder(t.env.DATABASE_URL!, async (other, waitForLockWait) => {
      const { rows } = await other.query('SELECT id FROM models WHERE tenant_id = $1 AND name = $2 FOR UPDATE', [tenantId, 'locked']);
      const uploading = upload();
      // Wait until the upload, past its quota check, waits for that caller's model lock.
      await waitForLockWait('%INSERT INTO models%');
      // The alias change goes on: its row names the tenant (a foreign key), as every tenant-scoped row does.
      await other.query(`INSERT INTO model_aliases (tenant_id, model_id, alias, version) VALUES ($1, $2, 'production', 1)`, [tenantId, rows[0].id]);
      await other.query('COMMIT');
      expect((await uploading).status).toBe(201);
    });
  });
});
