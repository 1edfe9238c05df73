import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { AppConfig, withPasswordMasked } from '../config/app-config';
import { holdingAdvisoryLock } from './advisory-lock';
import { ENTITIES } from './entities';
import { EmbeddedPostgres } from './embedded-postgres';

/**
 * A start against an external database that cannot be opened says which one: the driver's
 * `connect ECONNREFUSED 127.0.0.1:5432` alone does not say it was the database it tried.
 */
function unreachableExternalDatabase(config: AppConfig, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(`the database at DATABASE_URL (${withPasswordMasked(config.DATABASE_URL ?? '')}) cannot be opened: ${reason}`);
}

/** Any fixed number: the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 7_316_002;

/**
 * The database the service runs on: an external Postgres (`DATABASE_URL`) or the embedded
 * PGlite. Opening it applies pending migrations, one replica at a time.
 */
export class Database {
  private readonly logger = new Logger('Database');
  migrationsDone = false;

  private constructor(
    readonly dataSource: DataSource,
    private readonly embedded: EmbeddedPostgres | null,
  ) {}

  static async open(config: AppConfig, options: { runMigrations?: boolean } = {}): Promise<Database> {
    const embedded = config.usesEmbeddedDatabase
      ? await EmbeddedPostgres.start(config.dataDir, config.MMS_DB_POOL_SIZE + 10)
      : null;
    const dataSource = new DataSource({
      type: 'postgres',
      url: embedded?.url ?? config.DATABASE_URL,
      entities: ENTITIES,
      migrations: MIGRATIONS,
      migrationsTableName: 'schema_migrations',
      synchronize: false,
      logging: false,
      // PGlite is one session: pglite-socket interleaves concurrent connections message by
      // message, which mixes up their extended-protocol statements. One connection serialises
      // them cleanly (the predict hot path makes no query, so this costs little).
      poolSize: embedded ? 1 : config.MMS_DB_POOL_SIZE,
      // Fail fast when the database is unreachable rather than hanging requests.
      extra: { connectionTimeoutMillis: 5000 },
    });
    try {
      await dataSource.initialize();
    } catch (error) {
      await embedded?.stop();
      throw embedded ? error : unreachableExternalDatabase(config, error);
    }
    const database = new Database(dataSource, embedded);
    if (options.runMigrations ?? true) await database.migrate();
    database.logger.log(embedded ? `embedded PGlite in ${config.dataDir}/pg` : 'external PostgreSQL (DATABASE_URL)');
    return database;
  }

  /** Applies pending migrations under an advisory lock so concurrent replicas don't race. */
  async migrate(): Promise<string[]> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      return await holdingAdvisoryLock(runner, MIGRATION_LOCK_KEY, async () => {
        // On the lock's own connection: the embedded database has a pool of one.
        const executor = new MigrationExecutor(this.dataSource, runner);
        executor.transaction = 'each';
        const applied = await executor.executePendingMigrations();
        for (const m of applied) this.logger.log(`applied migration ${m.name}`);
        this.migrationsDone = true;
        return applied.map((m) => m.name);
      });
    } finally {
      await runner.release();
    }
  }

  /** True when the database answers a trivial query within the pool's timeout. */
  async ping(): Promise<boolean> {
    try {
      await this.dataSource.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded?.stop();
  }
}
