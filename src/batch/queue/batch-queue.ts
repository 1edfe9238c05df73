import { Injectable, Logger } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { holdingAdvisoryLock } from '../../database/advisory-lock';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';

export const QUEUES = {
  /** Read the input, route and spill rows into partitions, pin versions. */
  plan: 'mms-batch-plan',
  /** Score one partition chunk. */
  partition: 'mms-batch-partition',
  /** Concatenate partition outputs into the final output and manifest. */
  commit: 'mms-batch-commit',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface QueueMessage {
  tenantId: string;
  jobId: string;
  partitionId?: string;
}

export interface FetchedJob {
  id: string;
  data: QueueMessage;
}

interface SqlRunner {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * The pg-boss 10 queue, in the service's own database. pg-boss never opens connections of its
 * own: its SQL goes through the TypeORM DataSource's pool (one connection on the embedded
 * PGlite, whose socket server interleaves concurrent connections message by message), and
 * inside a transaction through that transaction's connection, so a job is queued exactly when
 * the ledger change that wants it commits.
 *
 * The ledger (batch_jobs, batch_partitions) is the source of truth; a queue message only says
 * "look at this job/partition", and a handler that finds nothing to do completes it.
 */
@Injectable()
export class BatchQueue {
  private readonly logger = new Logger('BatchQueue');
  private boss: PgBoss | null = null;
  private starting: Promise<PgBoss> | null = null;
  /** This process's loops idle on a queue, each woken by a message sent here (else by its poll timer). */
  private readonly idle = new Map<QueueName, Set<() => void>>();
  /** Queues sent to inside each open transaction: their idle loops are woken when it commits. */
  private readonly sentInTransactions = new WeakMap<QueryRunner, Set<QueueName>>();

  constructor(private readonly dataSource: DataSource) {
    // Told of every transaction's end, whoever ran it (API requests, handlers, schedules).
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: (event: TransactionCommitEvent) => this.transactionEnded(event.queryRunner, true),
      afterTransactionRollback: (event: TransactionRollbackEvent) => this.transactionEnded(event.queryRunner, false),
    };
    dataSource.subscribers.push(subscriber);
  }

  /** Starts pg-boss once (creating its schema and our queues when missing). */
  start(): Promise<PgBoss> {
    this.starting ??= (async () => {
      const pool = (this.dataSource.driver as unknown as { master: PgPool }).master;
      const db: SqlRunner = { executeSql: (text, values) => pool.query(text, values) };
      const boss = new PgBoss({
        db,
        schema: 'pgboss',
        // Cron lives in batch_schedules (per tenant); pg-boss's own maintenance stays on.
        schedule: false,
        supervise: true,
        maintenanceIntervalSeconds: 120,
      } as PgBoss.ConstructorOptions);
      boss.on('error', (error: Error) => this.logger.warn(`pg-boss: ${error.message}`));
      await underSetupLock(pool, async () => {
        await boss.start();
        for (const name of Object.values(QUEUES)) {
          // Retries are the ledger's business (maxRetries per job); an expired message is only a hint.
          await boss.createQueue(name, { name, policy: 'standard', retryLimit: 0, expireInSeconds: 23 * 3600, retentionMinutes: 24 * 60 } as PgBoss.Queue);
        }
      });
      this.boss = boss;
      return boss;
    })();
    return this.starting;
  }

  /** Queues one message; inside `tx` when given (sent if and only if the transaction commits). */
  async send(name: QueueName, data: QueueMessage, options: { tx?: EntityManager; startAfterSeconds?: number } = {}): Promise<void> {
    const boss = await this.start();
    await boss.send(name, data as object, {
      ...(options.startAfterSeconds ? { startAfter: Math.ceil(options.startAfterSeconds) } : {}),
      ...(options.tx ? { db: txRunner(options.tx) } : {}),
    } as PgBoss.SendOptions);
    this.sent(name, options.tx);
  }

  /** Queues many messages in one statement. */
  async sendMany(name: QueueName, items: Array<{ data: QueueMessage; startAfterSeconds?: number }>, tx?: EntityManager): Promise<void> {
    if (!items.length) return;
    const boss = await this.start();
    const jobs = items.map((i) => ({ name, data: i.data, ...(i.startAfterSeconds ? { startAfter: new Date(Date.now() + i.startAfterSeconds * 1000).toISOString() } : {}) }));
    if (tx) await boss.insert(jobs as PgBoss.JobInsert[], { db: txRunner(tx) } as PgBoss.InsertOptions);
    else await boss.insert(jobs as PgBoss.JobInsert[]);
    this.sent(name, tx);
  }

  /**
   * Waits until a message is sent to this queue from this process, or `ms` pass (messages from
   * other processes are found by polling), or `signal` aborts.
   */
  waitForWork(name: QueueName, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.idle.get(name) ?? new Set<() => void>();
      this.idle.set(name, waiters);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      waiters.add(done);
    });
  }

  private sent(name: QueueName, tx: EntityManager | undefined): void {
    const runner = tx?.queryRunner;
    if (!runner) return this.wake(name);
    const names = this.sentInTransactions.get(runner) ?? new Set<QueueName>();
    this.sentInTransactions.set(runner, names.add(name));
  }

  /** A transaction (not a savepoint inside one) ended: wake the loops its messages are for, if it committed. */
  private transactionEnded(runner: QueryRunner, committed: boolean): void {
    if (runner.isTransactionActive) return;
    const names = this.sentInTransactions.get(runner);
    if (!names) return;
    this.sentInTransactions.delete(runner);
    if (committed) for (const name of names) this.wake(name);
  }

  private wake(name: QueueName): void {
    for (const waiter of [...(this.idle.get(name) ?? [])]) waiter();
  }

  async fetch(name: QueueName, batchSize = 1): Promise<FetchedJob[]> {
    const boss = await this.start();
    const jobs = (await boss.fetch(name, { batchSize })) as Array<{ id: string; data: QueueMessage }> | null;
    return (jobs ?? []).map((j) => ({ id: j.id, data: j.data }));
  }

  async complete(name: QueueName, ids: string[]): Promise<void> {
    if (ids.length) await this.boss?.complete(name, ids);
  }

  async fail(name: QueueName, ids: string[], error: Error): Promise<void> {
    if (ids.length === 1) await this.boss?.fail(name, ids[0], { message: error.message });
    else if (ids.length) await this.boss?.fail(name, ids);
  }

  async stop(): Promise<void> {
    const boss = this.boss;
    this.boss = null;
    this.starting = null;
    // graceful: false — our handlers are stopped by the runner; pg-boss must not wait for them.
    if (boss) await boss.stop({ graceful: false, wait: true, close: false } as PgBoss.StopOptions).catch(() => undefined);
  }
}

function txRunner(tx: EntityManager): SqlRunner {
  return {
    executeSql: async (text, values) => {
      const result = (await tx.queryRunner!.query(text, values, true)) as { records: unknown[] };
      return { rows: result.records ?? [] };
    },
  };
}

/** The pg Pool under TypeORM's Postgres driver: what pg-boss runs its SQL on. */
interface PgPool {
  options?: { max?: number };
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<{ query(text: string, values?: unknown[]): Promise<unknown>; release(): void }>;
}

/** Any fixed number: the advisory lock that serialises pg-boss's set-up across replicas. */
const QUEUE_SETUP_LOCK_KEY = 7_316_003;

/**
 * Runs pg-boss's set-up (its schema, our queues) under an advisory lock: replicas starting
 * together on a new database otherwise race on CREATE SCHEMA (duplicate key, deadlock) and one
 * of them exits. The embedded database (a pool of one connection, one process) needs no lock,
 * and the lock would take its only connection.
 */
async function underSetupLock(pool: PgPool, setUp: () => Promise<void>): Promise<void> {
  if ((pool.options?.max ?? 10) <= 1) return setUp();
  const client = await pool.connect();
  try {
    await holdingAdvisoryLock(client, QUEUE_SETUP_LOCK_KEY, setUp);
  } finally {
    client.release();
  }
}
