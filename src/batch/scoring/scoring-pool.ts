import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostTensor } from '../../serving/tensor-codec';
import { StoppedError } from '../work-lease';
import type { PartitionResult, Predict, ScoreTask } from './score-partition';
import { buffersOf, FromScoringThread, ToScoringThread } from './scoring-protocol';

/** Partitions one thread works at once: two keep it busy while the other's mini-batch is out for inference. */
const PER_THREAD = 2;

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
  /** Partitions on the threads now, and those waiting for room (see acquire). */
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(size: number) {
    this.threads = Array.from({ length: Math.max(1, size) }, () => null);
  }

  async score(task: ScoreTask, predict: Predict): Promise<PartitionResult> {
    await this.acquire();
    try {
      if (this.closing) throw new StoppedError('shutting down');
      const thread = this.leastBusy();
      const id = this.nextId++;
      return await new Promise<PartitionResult>((resolve, reject) => {
        thread.running.set(id, { predict, resolve, reject });
        thread.worker.postMessage({ type: 'score', id, task } satisfies ToScoringThread);
      });
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const wake of this.queue.splice(0)) wake();
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  /**
   * At most PER_THREAD partitions per thread at once, the others wait their turn: each holds its
   * staging rows (up to MMS_BATCH_PARTITION_ROWS) in the thread's memory while it runs.
   */
  private async acquire(): Promise<void> {
    if (this.active < this.threads.length * PER_THREAD) {
      this.active++;
      return;
    }
    await new Promise<void>((wake) => this.queue.push(wake));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
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
    const [file, options] = scoringEntry();
    const thread: Thread = { worker: new Worker(file, options), running: new Map() };
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
        (error: Error) => thread.worker.postMessage({ type: 'predict-failed', id: message.id, message: error.message, stopped: error instanceof StoppedError } satisfies ToScoringThread),
      );
      return;
    }
    thread.running.delete(message.id);
    if (message.type === 'done') run.resolve(message.result);
    else run.reject(message.stopped ? new StoppedError(message.message) : new Error(message.message));
  }
}

function scoringEntry(): [string, { execArgv?: string[] }] {
  const js = path.join(__dirname, 'scoring-worker.js');
  if (fs.existsSync(js)) return [js, {}];
  return [path.join(__dirname, 'scoring-worker.ts'), { execArgv: ['-r', '@swc-node/register'] }];
}
