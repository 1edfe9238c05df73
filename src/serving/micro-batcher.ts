import { withoutServerPaths } from '../common/server-paths';
import { servingHookMetrics } from '../observability/metrics/hook-metrics';
import { rowsOf } from './runtime/batch-plan';
import { CallPriority, InferenceRuntime, RunOutcome } from './runtime/inference-runtime';
import type { SessionEntry } from './session-entry';
import { inferenceFailed } from './serving.error';
import type { HostTensor } from './tensor-codec';

export interface MicroBatchOptions {
  /** 0: requests that arrive in the same event-loop turn are merged; > 0: also those within this many ms. */
  windowMs: number;
  /** A merged call never exceeds this many rows; a request this big runs on its own. */
  maxRows: number;
}

interface Waiter {
  resolve: (outputs: HostTensor[]) => void;
  reject: (error: Error) => void;
}

/** Calls for one session collected during a turn (or window), to run as one; open while `entry.batch` (or `entry.backgroundBatch`) is it. */
export interface MicroBatch {
  entry: SessionEntry;
  /** Background calls merge only with each other: a request never waits in a background call. */
  priority: CallPriority;
  parts: HostTensor[][];
  waiters: Waiter[];
  rows: number;
  timer?: NodeJS.Timeout;
  sent: boolean;
}

/**
 * Merges concurrent small requests for the same loaded session into one runtime call (the
 * worker concatenates them along the row dimension and splits the outputs back). With the
 * default window of 0 a lone request waits only for the end of the current event-loop turn,
 * so batching costs nothing at low load and grows with concurrency.
 */
export class MicroBatcher {
  private dueThisTurn: MicroBatch[] = [];
  private turnScheduled = false;

  constructor(
    private readonly runtime: InferenceRuntime,
    private readonly options: MicroBatchOptions,
  ) {}

  submit(entry: SessionEntry, feeds: HostTensor[], priority: CallPriority = 'normal'): Promise<HostTensor[]> {
    const rows = entry.batchable ? rowsOf(feeds) : null;
    return new Promise((resolve, reject) => {
      if (rows === null || rows >= this.options.maxRows) {
        void this.send(entry, [feeds], [{ resolve, reject }], priority);
        return;
      }
      let batch = openBatchOf(entry, priority);
      if (batch && batch.rows + rows > this.options.maxRows) {
        this.flush(batch);
        batch = undefined;
      }
      if (!batch) batch = this.openBatch(entry, priority);
      batch.parts.push(feeds);
      batch.waiters.push({ resolve, reject });
      batch.rows += rows;
      if (batch.rows >= this.options.maxRows) this.flush(batch);
    });
  }

  private openBatch(entry: SessionEntry, priority: CallPriority): MicroBatch {
    const batch: MicroBatch = { entry, priority, parts: [], waiters: [], rows: 0, sent: false };
    // On the entry, not in a Map keyed by session: a Map that gains and loses a key per batch
    // keeps discarded tables, and the calls they held, alive until a full GC (see PendingCalls).
    if (priority === 'background') entry.backgroundBatch = batch;
    else entry.batch = batch;
    if (this.options.windowMs > 0) batch.timer = setTimeout(() => this.flush(batch), this.options.windowMs);
    else {
      this.dueThisTurn.push(batch);
      if (!this.turnScheduled) {
        this.turnScheduled = true;
        // After the poll phase: every request whose bytes arrived in this turn has queued by then.
        setImmediate(() => this.flushTurn());
      }
    }
    return batch;
  }

  private flushTurn(): void {
    this.turnScheduled = false;
    const due = this.dueThisTurn;
    this.dueThisTurn = [];
    for (const batch of due) this.flush(batch);
  }

  private flush(batch: MicroBatch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (batch.timer) clearTimeout(batch.timer);
    if (batch.entry.batch === batch) batch.entry.batch = undefined;
    if (batch.entry.backgroundBatch === batch) batch.entry.backgroundBatch = undefined;
    void this.send(batch.entry, batch.parts, batch.waiters, batch.priority);
  }

  private async send(entry: SessionEntry, parts: HostTensor[][], waiters: Waiter[], priority: CallPriority): Promise<void> {
    entry.stats.requests += parts.length;
    entry.stats.calls++;
    servingHookMetrics.microBatch(parts.length);
    let outcome: RunOutcome;
    try {
      outcome = await this.runtime.run(entry.handle, parts, entry.batchable, priority);
    } catch (error) {
      for (const w of waiters) w.reject(error as Error);
      return;
    }
    if (outcome.unbatchable) entry.batchable = false;
    waiters.forEach((w, i) => {
      const part = outcome.parts[i];
      if (part && 'outputs' in part) w.resolve(part.outputs);
      else w.reject(inferenceFailed(entry, withoutServerPaths(part ? part.error : 'no result')));
    });
  }
}

function openBatchOf(entry: SessionEntry, priority: CallPriority): MicroBatch | undefined {
  return priority === 'background' ? entry.backgroundBatch : entry.batch;
}
