import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { spawnNode } from './processes';

/**
 * A fresh, empty database for one test file: a new database on the Postgres server in
 * DATABASE_URL (dropped afterwards), or, when DATABASE_URL is unset, the embedded PGlite
 * served from a child process (PGlite does not run inside Jest's module sandbox).
 */
export interface TestDatabase {
  url: string;
  embedded: boolean;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return startEmbeddedDatabase();
  const name = `mms_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    embedded: false,
    drop: () => withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function startEmbeddedDatabase(): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-pglite-'));
  const { proc, match } = await spawnNode('src/database/embedded-cli.js', [dataDir], {}, /DATABASE_URL=(\S+)/);
  return {
    url: match[1],
    embedded: true,
    drop: async () => {
      await proc.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function withClient<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Another caller caught half-way (Postgres only): `holder` is a connection in an open
 * transaction, whose row locks the test takes; `waitForLockWait` resolves once a statement
 * matching one of the LIKE patterns waits for a lock. Watched from a connection of its own: in a
 * transaction, pg_stat_activity stays the snapshot of its first read.
 */
export async function withLockHolder<T>(url: string, work: (holder: Client, waitForLockWait: (...queryLike: string[]) => Promise<void>) => Promise<T>): Promise<T> {
  const holder = new Client({ connectionString: url });
  await holder.connect();
  const watcher = new Client({ connectionString: url });
  await watcher.connect();
  const waitForLockWait = async (...queryLike: string[]) => {
    for (;;) {
      const { rows } = await watcher.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ANY($1::text[])`,
        [queryLike],
      );
      if (rows[0].n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    await holder.query('BEGIN');
    return await work(holder, waitForLockWait);
  } finally {
    await holder.end();
    await watcher.end();
  }
}
