import { Extension, PGlite } from '@electric-sql/pglite';

// A subpath export, which TypeScript's commonjs resolution does not see; Node resolves it.
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: Extension };
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import * as path from 'node:path';
import { DataDirLock } from './data-dir-lock';

/**
 * The zero-setup database: PGlite with its files in `<dataDir>/pg`, served on a free
 * loopback port so the ordinary `pg` driver (and TypeORM, and pg-boss) talk to it exactly
 * as to a real Postgres.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly lock: DataDirLock,
    readonly url: string,
  ) {}

  static async start(dataDir: string, maxConnections: number): Promise<EmbeddedPostgres> {
    const pgDir = path.join(dataDir, 'pg');
    const lock = DataDirLock.acquire(dataDir, 'The embedded database');
    try {
      // pg_trgm: the registry's name search index (the same extension a real Postgres provides).
      const db = await PGlite.create(pgDir, { extensions: { pg_trgm } });
      // Port 0: the OS picks a free port, so a real Postgres on 5432 is never in the way.
      const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
      await server.start();
      const url = `postgres://postgres@${server.getServerConn()}/postgres`;
      return new EmbeddedPostgres(db, server, lock, url);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
    this.lock.release();
  }
}
