import { Logger } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import type { HostTensor } from '../../serving/tensor-codec';
import { ServingError, ServingErrorCode } from '../../serving/serving.error';
import { StoppedError } from '../work-lease';
import type { PartitionResult, Predict, ScoreTask } from './score-partition';
import type { ThreadPriorityData } from '../../common/thread-priority';
import { buffersOf, FromScoringThread, ToScoringThread } from './scoring-protocol';
import { workerEntry } from '../../common/worker-entry';

/**
 * Partitions one thread works at once: while some wait for inference (relayed by the main
 * thread, which also runs the ledger), the others keep it busy. Four measured ~5 % faster than
 * two on the batch benchmark; the row budget keeps memory where two big partitions put it.
 */
const PER_THREAD = 4;

interface Running {
  predict: Predict;
  resolve: (result: PartitionResult) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  running: Map<number, Running>;
}

/**
 * Scoring threads for batch partitions (see scoring-worker.ts), started on first use. A
 * partition goes to the thread with the fewest running (at most PER_THREAD each); its
 * mini-batches come back here to `predict`. A thread that dies fails its partitions (their attempts are retried) and is
 * replaced on the next partition.
 */
export class ScoringPool {
  private readonly logger = new Logger('BatchScoring');
  private readonly threads: Array<Thread | null>;
  private nextId = 1;
  private closing = false;
  /** Partitions on the threads now and their rows, and those waiting for room (see acquire). */
  private active = 0;
  private activeRows = 0;
  private readonly queue: Array<{ rows: number; wake: () => void }> = [];

  /**
   * `rowBudget`: staging rows all running partitions may hold together (one partition always runs, however big).
   * `nice`: nice levels below the HTTP thread the threads run at (Linux), as the inference workers
   * do: a nightly batch run takes the cores the online traffic leaves, not a share of its HTTP thread's.
   */
  constructor(
    size: number,
    private readonly rowBudget = Infinity,
    private readonly options: { nice: number } = { nice: 0 },
  ) {
    this.threads = Array.from({ length: Math.max(1, size) }, () => null);
  }

  /** Scores a partition of `rows` staging rows once there is room for it. */
  async score(task: ScoreTask, predict: Predict, rows = 0): Promise<PartitionResult> {
    await this.acquire(rows);
    try {
      if (this.closing) throw new StoppedError('shutting down');
      const thread = this.leastBusy();
      const id = this.nextId++;
      return await new Promise<PartitionResult>((resolve, reject) => {
        thread.running.set(id, { predict, resolve, reject });
        thread.worker.postMessage({ type: 'score', id, task } satisfies ToScoringThread);
      });
    } finally {
      this.release(rows);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    // Woken as if admitted: each then sees closing and releases what it took.
    for (const waiting of this.queue.splice(0)) {
      this.take(waiting.rows);
      waiting.wake();
    }
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  /**
   * At most PER_THREAD partitions per thread at once, and at most `rowBudget` staging rows
   * among them (each holds its rows, up to MMS_BATCH_PARTITION_ROWS, in its thread's memory);
   * the others wait their turn, first come first served.
   */
  private async acquire(rows: number): Promise<void> {
    if (!this.queue.length && this.fits(rows)) {
      this.take(rows);
      return;
    }
    await new Promise<void>((wake) => this.queue.push({ rows, wake }));
  }

  private fits(rows: number): boolean {
    return this.active < this.threads.length * PER_THREAD && (this.active === 0 || this.activeRows + rows <= this.rowBudget);
  }

  private take(rows: number): void {
    this.active++;
    this.activeRows += rows;
  }

  private release(rows: number): void {
    this.active--;
    this.activeRows -= rows;
    while (this.queue.length && this.fits(this.queue[0].rows)) {
      const next = this.queue.shift()!;
      this.take(next.rows);
      next.wake();
    }
  }

  private leastBusy(): Thread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t) return (this.threads[i] = this.start(i));
      if (best < 0 || t.running.size < this.threads[best]!.running.size) best = i;
    }
    return this.threads[best]!;
  }

  private start(slot: number): Thread {
    const [file, options] = workerEntry(__dirname, 'scoring-worker');
    const workerData: ThreadPriorityData = { nice: this.options.nice };
    const thread: Thread = { worker: new Worker(file, { ...options, workerData }), running: new Map() };
    thread.worker.on('message', (message: FromScoringThread) => this.onMessage(thread, message));
    thread.worker.on('error', (error) => this.logger.error(`scoring thread ${slot} failed: ${error.message}`));
    thread.worker.on('exit', (code) => {
      if (this.threads[slot] === thread) this.threads[slot] = null;
      if (!this.closing) this.logger.error(`scoring thread ${slot} exited (code ${code}); its partitions are tried again`);
      // Stopped by shutdown: the work ends as a lost lease would (no failed attempt is recorded).
      for (const run of thread.running.values()) run.reject(this.closing ? new StoppedError('shutting down') : new Error('the scoring thread stopped'));
      thread.running.clear();
    });
    // Shutdown terminates it; it must not keep a finished process alive.
    thread.worker.unref();
    return thread;
  }

  private onMessage(thread: Thread, message: FromScoringThread): void {
    const run = thread.running.get(message.id);
    if (!run) return;
    if (message.type === 'predict') {
      run.predict(message.feeds).then(
        (outputs) => {
          // Own copies, so that moving them cannot detach a buffer anything else still reads.
          const owned: HostTensor[] = outputs.map((o) => ({ ...o, data: (o.data as { slice(): HostTensor['data'] }).slice() }));
          thread.worker.postMessage({ type: 'predicted', id: message.id, outputs: owned } satisfies ToScoringThread, buffersOf(owned));
        },
        (error: Error) =>
          thread.worker.postMessage({
            type: 'predict-failed',
            id: message.id,
            message: error.message,
            stopped: error instanceof StoppedError,
            refused: error instanceof ServingError && error.code === ServingErrorCode.InferenceFailed,
          } satisfies ToScoringThread),
      );
      return;
    }
    thread.running.delete(message.id);
    if (message.type === 'done') run.resolve(message.result);
    else run.reject(message.stopped ? new StoppedError(message.message) : new Error(message.message));
  }
}
