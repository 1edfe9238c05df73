import { Logger } from '@nestjs/common';
import { loadConfig } from '../../src/config/app-config';
import { Database } from '../../src/database/database';
import { createTestDatabase, TestDatabase } from './test-database';

// Without an app around it, Nest's logger would print every applied migration into the test output.
Logger.overrideLogger(['warn', 'error']);

/**
 * The service's own `Database.open` (config validation, pool, advisory-locked migrations) on
 * the database at `url`. Always with DATABASE_URL set: PGlite does not run inside Jest, so an
 * embedded test database is reached through the server `createTestDatabase` started for it.
 */
export function openDatabase(url: string, env: NodeJS.ProcessEnv = {}, options: { runMigrations?: boolean } = {}): Promise<Database> {
  return Database.open(loadConfig({ DATABASE_URL: url, ...env }), options);
}

export interface OpenedTestDatabase {
  database: Database;
  url: string;
  /** Closes the pool and drops the database (or stops the embedded server). */
  dispose(): Promise<void>;
}

/**
 * The pool the service itself would use on this test database: one connection on the embedded
 * PGlite (pglite-socket runs every connection in one session), the configured pool otherwise.
 */
function poolFor(fresh: TestDatabase): NodeJS.ProcessEnv {
  return fresh.embedded ? { MMS_DB_POOL_SIZE: '1' } : {};
}

/** A fresh test database, migrated and opened through `Database.open`. */
export async function openFreshDatabase(): Promise<OpenedTestDatabase> {
  const fresh = await createTestDatabase();
  try {
    const database = await openDatabase(fresh.url, poolFor(fresh));
    return {
      database,
      url: fresh.url,
      dispose: async () => {
        await database.close();
        await fresh.drop();
      },
    };
  } catch (error) {
    await fresh.drop();
    throw error;
  }
}
