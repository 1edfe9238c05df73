import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { BatchQueue, QUEUES } from '../../src/batch/queue/batch-queue';
import { openDatabase, openFreshDatabase, OpenedTestDatabase } from '../support/open-database';

jest.setTimeout(60_000);

/**
 * The pg-boss queue on a real database: a message sent inside a transaction wakes this
 * process's idle loops when that transaction commits (whoever committed it), never before,
 * and not at all when it rolls back.
 */
describe('BatchQueue wake-ups', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let queue: BatchQueue;
  // Far past the test timeout: a loop that is not woken fails the test instead of waking by its timer.
  const FOREVER_MS = 10 * 60_000;

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    queue = new BatchQueue(dataSource);
    await queue.start();
  });
  afterAll(async () => {
    await queue?.stop();
    await db?.dispose();
  });

  /** An idle loop's wait on the plan queue, and whether it has ended. */
  function idleLoop(): { woken: () => boolean; stop: () => void; done: Promise<void> } {
    const abort = new AbortController();
    let woken = false;
    const done = queue.waitForWork(QUEUES.plan, FOREVER_MS, abort.signal).then(() => {
      woken = true;
    });
    return { woken: () => woken, stop: () => abort.abort(), done };
  }
  const message = () => ({ tenantId: randomUUID(), jobId: randomUUID() });
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('wakes an idle loop when the transaction that sent commits, not before', async () => {
    const loop = idleLoop();
    let wokenBeforeCommit = true;
    await dataSource.transaction(async (tx) => {
      await queue.send(QUEUES.plan, message(), { tx });
      await tx.query('SELECT 1');
      await tick();
      wokenBeforeCommit = loop.woken();
    });
    await loop.done; // without the wake-up this would wait out FOREVER_MS and the test would time out
    expect(wokenBeforeCommit).toBe(false);
    const [fetched] = await queue.fetch(QUEUES.plan);
    expect(fetched).toBeDefined();
    await queue.complete(QUEUES.plan, [fetched.id]);
  });

  it('does not wake an idle loop for a transaction that rolled back, nor for one without messages', async () => {
    const loop = idleLoop();
    await dataSource
      .transaction(async (tx) => {
        await queue.send(QUEUES.plan, message(), { tx });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await dataSource.transaction((tx) => tx.query('SELECT 1'));
    await tick();
    expect(loop.woken()).toBe(false);
    expect(await queue.fetch(QUEUES.plan)).toEqual([]);
    loop.stop();
    await loop.done;
  });

  it('wakes at once for a message sent outside any transaction', async () => {
    const loop = idleLoop();
    await queue.send(QUEUES.plan, message());
    await loop.done;
    const [fetched] = await queue.fetch(QUEUES.plan);
    await queue.complete(QUEUES.plan, [fetched.id]);
  });
});

/**
 * Replicas starting together on a new database: pg-boss's schema and queues are set up once,
 * and no start fails. Replicas need PostgreSQL (the embedded database is one process's, and its
 * socket mixes up parameterised statements of concurrent connections).
 */
(process.env.DATABASE_URL ? describe : describe.skip)('BatchQueue start on a new database', () => {
  it('starts the queues of several replicas at once', async () => {
    const db = await openFreshDatabase();
    const others = await Promise.all([openDatabase(db.url), openDatabase(db.url)]);
    const queues = [db.database, ...others].map((d) => new BatchQueue(d.dataSource));
    try {
      await Promise.all(queues.map((q) => q.start()));
      // Each can use the queues the others may have created.
      await queues[2].send(QUEUES.plan, { tenantId: randomUUID(), jobId: randomUUID() });
      const [fetched] = await queues[0].fetch(QUEUES.plan);
      expect(fetched).toBeDefined();
    } finally {
      for (const q of queues) await q.stop();
      for (const d of others) await d.close();
      await db.dispose();
    }
  });
});
