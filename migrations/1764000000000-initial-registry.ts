import { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants and the model registry: models, versions, aliases. */
export class InitialRegistry1764000000000 implements MigrationInterface {
  name = 'InitialRegistry1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Until per-tenant keys exist, the root credential acts in this tenant.
    await q.query(`INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'default')`);

    await q.query(`
      CREATE TABLE models (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        description text,
        segment jsonb NOT NULL DEFAULT '{}'::jsonb,
        tags jsonb NOT NULL DEFAULT '{}'::jsonb,
        latest_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT models_tenant_name_key UNIQUE (tenant_id, name)
      )`);
    // Containment (@>) filters on segment keys and tags; jsonb_path_ops is the compact GIN
    // opclass for exactly that operator.
    await q.query(`CREATE INDEX models_segment_idx ON models USING gin (segment jsonb_path_ops)`);
    await q.query(`CREATE INDEX models_tags_idx ON models USING gin (tags jsonb_path_ops)`);

    await q.query(`
      CREATE TABLE model_versions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        model_id uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        version integer NOT NULL,
        sha256 char(64) NOT NULL,
        size_bytes bigint NOT NULL,
        format text NOT NULL CHECK (format IN ('onnx', 'mlflow')),
        model_sha256 char(64) NOT NULL,
        signature jsonb NOT NULL,
        mlflow jsonb,
        tags jsonb NOT NULL DEFAULT '{}'::jsonb,
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        CONSTRAINT model_versions_model_version_key UNIQUE (model_id, version)
      )`);
    await q.query(`CREATE INDEX model_versions_tenant_idx ON model_versions (tenant_id)`);
    await q.query(`CREATE INDEX model_versions_model_sha_idx ON model_versions (model_sha256)`);

    await q.query(`
      CREATE TABLE model_aliases (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        model_id uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        alias text NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_id, alias),
        -- a version an alias points at cannot be deleted (the API answers 409 first); NO ACTION
        -- rather than RESTRICT so that deleting the whole model cascades through both tables
        FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE model_aliases`);
    await q.query(`DROP TABLE model_versions`);
    await q.query(`DROP TABLE models`);
    await q.query(`DROP TABLE tenants`);
  }
}
