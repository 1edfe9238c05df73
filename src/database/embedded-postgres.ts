import { Logger } from '@nestjs/common';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../common/worker-entry';
import { DataDirLock } from './data-dir-lock';

export interface EmbeddedWorkerData {
  pgDir: string;
  maxConnections: number;
}
export type ToEmbeddedWorker = { type: 'stop' };
export type FromEmbeddedWorker = { type: 'ready'; conn: string } | { type: 'stopped' } | { type: 'failed'; message: string };

/** Closing the database waits this long for PGlite to write its files, then ends the thread. */
const STOP_TIMEOUT_MS = 30_000;

/**
 * The zero-setup database: PGlite with its files in `<dataDir>/pg`, served on a free
 * loopback port so the ordinary `pg` driver (and TypeORM, and pg-boss) talk to it exactly
 * as to a real Postgres. It runs in a thread of its own (embedded-postgres.worker.ts), so its
 * statements never run on the HTTP thread.
 */
export class EmbeddedPostgres {
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    private readonly lock: DataDirLock,
    readonly url: string,
  ) {
    // Should the thread die, queries fail as with an unreachable database (503s); say why.
    const logger = new Logger('Database');
    worker.on('error', (error) => logger.error(`the embedded database thread failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (!this.stopping) logger.error(`the embedded database thread exited (code ${code}); restart the service`);
    });
  }

  static async start(dataDir: string, maxConnections: number): Promise<EmbeddedPostgres> {
    const lock = DataDirLock.acquire(dataDir, 'The embedded database');
    const [entry, options] = workerEntry(__dirname, 'embedded-postgres.worker');
    const workerData: EmbeddedWorkerData = { pgDir: path.join(dataDir, 'pg'), maxConnections };
    const worker = new Worker(entry, { ...options, workerData });
    try {
      const answer = await nextAnswer(worker);
      if (answer.type !== 'ready') throw new Error(answer.type === 'failed' ? answer.message : `unexpected ${answer.type}`);
      return new EmbeddedPostgres(worker, lock, `postgres://postgres@${answer.conn}/postgres`);
    } catch (error) {
      await worker.terminate();
      lock.release();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    try {
      const stopped = nextAnswer(this.worker);
      this.worker.postMessage({ type: 'stop' } satisfies ToEmbeddedWorker);
      const timeout = new Promise<FromEmbeddedWorker>((resolve) => setTimeout(() => resolve({ type: 'failed', message: 'timed out' }), STOP_TIMEOUT_MS).unref());
      const answer = await Promise.race([stopped, timeout]);
      if (answer.type === 'failed') throw new Error(`the embedded database did not close cleanly: ${answer.message}`);
    } finally {
      await this.worker.terminate();
      this.lock.release();
    }
  }
}

/** The worker's next message; its end (a crash) or an error before it is a failure. */
function nextAnswer(worker: Worker): Promise<FromEmbeddedWorker> {
  return new Promise((resolve, reject) => {
    const done = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: FromEmbeddedWorker) => {
      done();
      resolve(message);
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`the embedded database thread exited (code ${code})`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
