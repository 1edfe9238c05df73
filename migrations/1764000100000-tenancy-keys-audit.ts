import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys per tenant, tenant quotas and limits, and the audit log. */
export class TenancyKeysAudit1764000100000 implements MigrationInterface {
  name = 'TenancyKeysAudit1764000100000';

  async up(q: QueryRunner): Promise<void> {
    // NULL = the service-wide default from the environment.
    await q.query(`
      ALTER TABLE tenants
        ADD COLUMN max_models integer,
        ADD COLUMN max_artifact_bytes bigint,
        ADD COLUMN rate_limit_per_second integer,
        ADD COLUMN cache_share real`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        -- the non-secret part of the key, used to find the row; the secret is only hashed
        prefix text NOT NULL UNIQUE,
        secret_sha256 char(64) NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'publisher', 'scorer')),
        models text[],
        description text,
        expires_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id)`);

    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        tenant_id uuid REFERENCES tenants(id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT now(),
        principal text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`ALTER TABLE tenants DROP COLUMN max_models, DROP COLUMN max_artifact_bytes, DROP COLUMN rate_limit_per_second, DROP COLUMN cache_share`);
  }
}
