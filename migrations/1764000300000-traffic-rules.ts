import { MigrationInterface, QueryRunner } from 'typeorm';

/** Traffic rules (split + mirror) per model, and bulk rollouts that can be rolled back. */
export class TrafficRules1764000300000 implements MigrationInterface {
  name = 'TrafficRules1764000300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE traffic_rules (
        model_id uuid PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        mirror_percent real,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text NOT NULL
      )`);
    // One row per version a rule points at, so a referenced version cannot be deleted.
    await q.query(`
      CREATE TABLE traffic_rule_versions (
        model_id uuid NOT NULL REFERENCES traffic_rules(model_id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL,
        version integer NOT NULL,
        role text NOT NULL CHECK (role IN ('split', 'mirror')),
        weight real NOT NULL,
        PRIMARY KEY (model_id, role, version),
        FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version)
      )`);
    await q.query(`CREATE INDEX traffic_rules_updated_idx ON traffic_rules (updated_at)`);

    await q.query(`
      CREATE TABLE rollouts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        kind text NOT NULL,
        request jsonb NOT NULL,
        changes jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        rolled_back_at timestamptz
      )`);
    await q.query(`CREATE INDEX rollouts_tenant_idx ON rollouts (tenant_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rollouts`);
    await q.query(`DROP TABLE traffic_rule_versions`);
    await q.query(`DROP TABLE traffic_rules`);
  }
}
