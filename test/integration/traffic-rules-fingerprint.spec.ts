import { DataSource } from 'typeorm';
import { ModelsRepository } from '../../src/registry/models.repository';
import { RolloutRepository } from '../../src/rollout/rollout.repository';
import { openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { createTenant, newVersion } from '../support/registry-fixtures';

jest.setTimeout(60_000);

/**
 * Replicas notice each other's traffic-rule changes by polling the rules' fingerprint. A change
 * stamped before another (its `updated_at` is the time of the write) can commit after it: the
 * poll between the two commits must not leave the fingerprint unchanged by the later commit.
 */
describe('the traffic rules fingerprint', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let rollout: RolloutRepository;
  let tenantId: string;
  const modelIds: Record<string, string> = {};

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    rollout = new RolloutRepository(dataSource);
    const models = new ModelsRepository(dataSource);
    tenantId = await createTenant(dataSource);
    for (const name of ['x', 'y']) {
      await models.appendVersion(tenantId, name, newVersion());
      modelIds[name] = (await models.findModelByName(tenantId, name))!.id;
    }
  });
  afterAll(async () => {
    await db?.dispose();
  });

  /** What a commit leaves in the table: the rule of `model` as written at `at`. */
  const committed = (model: string, at: string) =>
    dataSource.transaction(async (tx) => {
      await rollout.replaceRule(tx, tenantId, modelIds[model], [{ version: 1, weight: 100 }], null, 'test');
      await tx.query(`UPDATE traffic_rules SET updated_at = $2 WHERE model_id = $1`, [modelIds[model], at]);
    });

  it('changes with a change written before the latest one but committed after it', async () => {
    await committed('x', '2026-01-01T00:00:00Z');
    await committed('y', '2026-01-01T00:00:10Z');
    const seen = await rollout.rulesFingerprint();
    // x's next change was stamped at 00:00:05, before y's, and committed only now: the count and
    // the latest time are as the poll saw them.
    await committed('x', '2026-01-01T00:00:05Z');
    expect(await rollout.rulesFingerprint()).not.toBe(seen);
  });

  it('stays the same while nothing changes, and changes when a rule goes', async () => {
    const seen = await rollout.rulesFingerprint();
    expect(await rollout.rulesFingerprint()).toBe(seen);
    await dataSource.transaction((tx) => rollout.deleteRule(tx, tenantId, modelIds.y));
    expect(await rollout.rulesFingerprint()).not.toBe(seen);
  });
});
