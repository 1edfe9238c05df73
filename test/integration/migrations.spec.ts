import * as fs from 'node:fs';
import { MIGRATIONS } from '../../migrations';
import { DEFAULT_TENANT_ID } from '../../src/auth/auth-context';
import { Database } from '../../src/database/database';
import { openDatabase, openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { runNode } from '../support/processes';
import { useTempDir } from '../support/temp-dir';
import { createTestDatabase, TestDatabase, withClient } from '../support/test-database';

jest.setTimeout(60_000);

const MIGRATION_NAMES = MIGRATIONS.map((m) => new m().name);
const REGISTRY_TABLES = ['model_aliases', 'model_versions', 'models', 'tenants'];

const appliedMigrations = (url: string) =>
  withClient(url, async (c) => (await c.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id')).rows.map((r) => r.name));

/** A fresh database for one test, dropped afterwards whatever happens. */
async function withFreshDatabase(work: (fresh: TestDatabase) => Promise<void>): Promise<void> {
  const fresh = await createTestDatabase();
  try {
    await work(fresh);
  } finally {
    await fresh.drop();
  }
}

describe('migrations', () => {
  describe('applied by Database.open on a fresh database', () => {
    let db: OpenedTestDatabase;
    beforeAll(async () => {
      db = await openFreshDatabase();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    const query = <T>(sql: string, params: unknown[] = []) => db.database.dataSource.query(sql, params) as Promise<T[]>;

    it('creates the registry tables', async () => {
      const rows = await query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining([...REGISTRY_TABLES, 'schema_migrations']));
    });

    it('indexes segment and tags with GIN jsonb_path_ops, the opclass for containment', async () => {
      const rows = await query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'models'`);
      const defs = Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
      expect(defs.models_segment_idx).toMatch(/USING gin \(segment jsonb_path_ops\)/);
      expect(defs.models_tags_idx).toMatch(/USING gin \(tags jsonb_path_ops\)/);
    });

    it('creates the default tenant the root credential acts in', async () => {
      expect(await query(`SELECT id, name FROM tenants WHERE name = 'default'`)).toEqual([{ id: DEFAULT_TENANT_ID, name: 'default' }]);
    });

    it('records every migration once, in order, and marks the database migrated', async () => {
      expect(await appliedMigrations(db.url)).toEqual(MIGRATION_NAMES);
      expect(db.database.migrationsDone).toBe(true);
      expect(await db.database.ping()).toBe(true);
    });

    it('applies nothing when run again', async () => {
      expect(await db.database.migrate()).toEqual([]);
      expect(await appliedMigrations(db.url)).toEqual(MIGRATION_NAMES);
    });

    it('opens with the smallest pool the configuration accepts (MMS_DB_POOL_SIZE=1)', async () => {
      let database: Database | undefined;
      try {
        database = await openDatabase(db.url, { MMS_DB_POOL_SIZE: '1' });
        expect(database.migrationsDone).toBe(true);
      } finally {
        await database?.close();
      }
    });
  });

  // Real Postgres only: pglite-socket serves every connection from one PGlite session, where a
  // session-level advisory lock does not exclude anyone; the embedded database is locked to one
  // process anyway (LOCK file), so replicas always need an external Postgres.
  (process.env.DATABASE_URL ? it : it.skip)(
    'lets two replicas open one fresh database at once: one applies the migrations, the other waits for the lock and applies none',
    async () => {
      await withFreshDatabase(async (fresh) => {
        const replicas = await Promise.all([openDatabase(fresh.url, {}, { runMigrations: false }), openDatabase(fresh.url, {}, { runMigrations: false })]);
        try {
          const applied = await Promise.all(replicas.map((r) => r.migrate()));
          expect(applied.map((names) => names.length).sort((a, b) => a - b)).toEqual([0, MIGRATION_NAMES.length]);
          expect(applied.flat()).toEqual(MIGRATION_NAMES);
          expect(await appliedMigrations(fresh.url)).toEqual(MIGRATION_NAMES);
          expect(replicas.map((r) => r.migrationsDone)).toEqual([true, true]);
        } finally {
          await Promise.all(replicas.map((r) => r.close()));
        }
      });
    },
  );

  describe('npm run migration:run (dist/src/database/migrate-cli.js)', () => {
    const tempDir = useTempDir('mms-migrate-');
    const migrateCli = (env: NodeJS.ProcessEnv) => runNode('src/database/migrate-cli.js', [], env);

    const expectAppliedThenUpToDate = async (env: NodeJS.ProcessEnv) => {
      const first = await migrateCli(env);
      expect(first).toEqual({ code: 0, output: expect.stringContaining(`applied: ${MIGRATION_NAMES.join(', ')}`) });
      const second = await migrateCli(env);
      expect(second).toEqual({ code: 0, output: expect.stringContaining('schema is up to date') });
    };

    it('applies the pending migrations to DATABASE_URL, then reports the schema up to date', async () => {
      await withFreshDatabase(async (fresh) => {
        await expectAppliedThenUpToDate({ DATABASE_URL: fresh.url });
        expect(await appliedMigrations(fresh.url)).toEqual(MIGRATION_NAMES);
      });
    });

    it('migrates the embedded database in MMS_DATA_DIR when DATABASE_URL is unset, and unlocks it on exit', async () => {
      await expectAppliedThenUpToDate({ DATABASE_URL: '', MMS_DATA_DIR: tempDir() });
      const entries = fs.readdirSync(tempDir());
      expect(entries).toContain('pg');
      expect(entries).not.toContain('LOCK');
    });

    it('exits non-zero with the reason when the database is unreachable', async () => {
      const { code, output } = await migrateCli({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' });
      expect(code).toBe(1);
      expect(output).toMatch(/ECONNREFUSED/);
    });
  });
});
