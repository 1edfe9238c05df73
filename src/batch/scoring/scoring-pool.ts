import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostTensor } from '../../serving/tensor-codec';
import { StoppedError } from '../work-lease';
import type { PartitionResult, Predict, ScoreTask } from './score-partition';
import { buffersOf, FromScoringThread, ToScoringThread } from './scoring-protocol';

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
 * partition goes to the thread with the fewest running; its mini-batches come back here to
 * `predict`. A thread that dies fails its partitions (their attempts are retried) and is
 * replaced on the next partition.
 */
export class ScoringPool {
  private readonly logger = new Logger('BatchScoring');
  private readonly threads: Array<Thread | null>;
  private nextId = 1;
  private closing = false;

  constructor(size: number) {
    this.threads = Array.from({ length: Math.max(1, size) }, () => null);
  }

  score(task: ScoreTask, predict: Predict): Promise<PartitionResult> {
    const thread = this.leastBusy();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.running.set(id, { predict, resolve, reject });
      thread.worker.postMessage({ type: 'score', id, task } satisfies ToScoringThread);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
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
      for (const run of thread.running.values()) run.reject(new Error('the scoring thread stopped'));
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
