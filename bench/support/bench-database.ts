import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { Database } from '../../src/database/database';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';

/** A throwaway, migrated database for one benchmark run, dropped by `close()`. */
export interface BenchDatabase {
  dataSource: DataSource;
  embedded: boolean;
  /** `SELECT version()` of the server, for the report. */
  serverVersion: string;
  /** e.g. "embedded PGlite 0.5.14 (PostgreSQL 17.5)" or "PostgreSQL 15.20 (DATABASE_URL)". */
  label: string;
  close(): Promise<void>;
}

/**
 * A fresh database on the server in DATABASE_URL (created here, dropped at the end), or,
 * when unset, the embedded PGlite in a temporary directory, run in this process. Either way
 * the schema comes from the real migrations, through `Database.open`.
 */
export async function openBenchDatabase(serverUrl: string | undefined): Promise<BenchDatabase> {
  return serverUrl ? openExternal(serverUrl) : openEmbedded();
}

async function openEmbedded(): Promise<BenchDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-bench-'));
  let embedded: EmbeddedPostgres | null = null;
  let database: Database | null = null;
  const close = async () => {
    await database?.close();
    await embedded?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    embedded = await EmbeddedPostgres.start(dir, 20);
    database = await Database.open(loadConfig({ DATABASE_URL: embedded.url, MMS_DATA_DIR: dir }));
    const serverVersion = await versionOf(database.dataSource);
    const pglite = readPackageVersion('@electric-sql/pglite');
    return {
      dataSource: database.dataSource,
      embedded: true,
      serverVersion,
      label: `embedded PGlite ${pglite} (PostgreSQL ${shortVersion(serverVersion)}, in-process, WASM)`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function openExternal(serverUrl: string): Promise<BenchDatabase> {
  const name = `mms_bench_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let database: Database | null = null;
  const close = async () => {
    await database?.close();
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  try {
    database = await Database.open(loadConfig({ DATABASE_URL: url.toString() }));
    const serverVersion = await versionOf(database.dataSource);
    return {
      dataSource: database.dataSource,
      embedded: false,
      serverVersion,
      label: `PostgreSQL ${shortVersion(serverVersion)} (DATABASE_URL, temporary database ${name} on ${url.host})`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function versionOf(dataSource: DataSource): Promise<string> {
  const [row] = (await dataSource.query('SELECT version() AS v')) as Array<{ v: string }>;
  return row.v;
}

/** "PostgreSQL 15.20 (Debian …) on x86_64…" → "15.20". */
export function shortVersion(version: string): string {
  return /PostgreSQL ([0-9.]+)/.exec(version)?.[1] ?? version;
}

function readPackageVersion(pkg: string): string {
  try {
    // The package's exports hide package.json: walk up from its entry point instead.
    let dir = path.dirname(require.resolve(pkg));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg && json.version) return json.version;
      }
      const parent = path.dirname(dir);
      if (parent === dir) return '?';
      dir = parent;
    }
  } catch {
    return '?';
  }
}

/** Runs one statement on the server's maintenance connection (CREATE / DROP DATABASE). */
async function onServer(serverUrl: string, sql: string): Promise<void> {
  const admin = new DataSource({ type: 'postgres', url: serverUrl, poolSize: 1, logging: false });
  await admin.initialize();
  try {
    await admin.query(sql);
  } finally {
    await admin.destroy();
  }
}
