/**
 * The embedded database's own thread: PGlite (PostgreSQL compiled to WebAssembly) and the
 * socket server the `pg` driver connects to. PGlite executes every statement synchronously on
 * the thread that owns it, so on the HTTP thread each query (a prediction log batch, a batch
 * job's ledger, a registry write) would hold up every request for as long as it runs.
 */
import { Extension, PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { parentPort, workerData } from 'node:worker_threads';
import type { EmbeddedWorkerData, FromEmbeddedWorker, ToEmbeddedWorker } from './embedded-postgres';

// A subpath export, which TypeScript's commonjs resolution does not see; Node resolves it.
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: Extension };

const port = parentPort!;
const { pgDir, maxConnections } = workerData as EmbeddedWorkerData;
const send = (message: FromEmbeddedWorker) => port.postMessage(message);

async function start(): Promise<void> {
  // pg_trgm: the registry's name search index (the same extension a real Postgres provides).
  const db = await PGlite.create(pgDir, { extensions: { pg_trgm } });
  // Port 0: the OS picks a free port, so a real Postgres on 5432 is never in the way.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  port.on('message', (message: ToEmbeddedWorker) => {
    if (message.type !== 'stop') return;
    void (async () => {
      try {
        await server.stop();
        await db.close();
        send({ type: 'stopped' });
      } catch (error) {
        send({ type: 'failed', message: messageOf(error) });
      }
    })();
  });
  send({ type: 'ready', conn: server.getServerConn() });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

start().catch((error: unknown) => send({ type: 'failed', message: messageOf(error) }));
