import type { PinnedVersion } from './batch.types';
import { servableOf } from './output-columns';
import { BatchPredictor } from './predictor/batch-predictor';
import type { RouteResolution, RouteResolver } from './route-resolver';

/** Routes looked up per registry query. */
const RESOLVE_BATCH = 1000;
/** Sessions loading at a time for the job: enough to keep the inference workers busy. */
const WARM_CONCURRENCY = 32;

type Settled = { ok: RouteResolution } | { failed: unknown };

/**
 * Resolves a job's routes while the planner is still reading the input, in order of first
 * appearance and many per registry query, and loads each resolved version into serving's
 * session cache while the cache has spare room. Loading a model costs about as much as scoring
 * a store's thousand rows, and the read keeps only one core busy: this way the loads overlap
 * the read instead of following it. Partitions are scored in the same order, so the first
 * ones find their models loaded.
 */
export class RoutePrefetcher {
  private readonly settled = new Map<string, Promise<Settled>>();
  private readonly toResolve: Array<{ key: string; done: (s: Settled) => void }> = [];
  private readonly toWarm: PinnedVersion[] = [];
  private resolving = false;
  private pumpQueued = false;
  private warming = 0;
  private stopped = false;

  constructor(
    private readonly routes: RouteResolver,
    private readonly predictor: BatchPredictor,
    private readonly tenantId: string,
  ) {}

  /** A route key the planner just met for the first time. */
  add(key: string): void {
    if (this.settled.has(key)) return;
    this.settled.set(key, new Promise<Settled>((done) => this.toResolve.push({ key, done })));
    // After the planner's current batch of rows: its new keys are looked up together.
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  /** Every route's resolution (throws the first lookup that failed for a reason other than the route's). */
  async resolutions(): Promise<Map<string, RouteResolution>> {
    const out = new Map<string, RouteResolution>();
    for (const [key, settled] of this.settled) {
      const s = await settled;
      if ('failed' in s) throw s.failed;
      out.set(key, s.ok);
    }
    return out;
  }

  /** No more lookups or loads start (planning ended or was stopped); those running finish. */
  stop(): void {
    this.stopped = true;
    for (const { done } of this.toResolve.splice(0)) done({ failed: new Error('route resolution stopped') });
    this.toWarm.length = 0;
  }

  private pump(): void {
    if (!this.stopped && !this.resolving && this.toResolve.length) {
      this.resolving = true;
      void this.resolveBatch(this.toResolve.splice(0, RESOLVE_BATCH)).finally(() => {
        this.resolving = false;
        this.pump();
      });
    }
    while (!this.stopped && this.warming < WARM_CONCURRENCY && this.toWarm.length) {
      const pin = this.toWarm.shift()!;
      this.warming++;
      void Promise.resolve()
        .then(() => this.predictor.warm(servableOf(this.tenantId, pin)))
        .then((outcome) => {
          // The cache has no spare room left: later routes load when their partitions run.
          if (outcome === 'no-room') this.toWarm.length = 0;
        })
        // Warming is only a head start: whatever goes wrong, the partition loads its model itself.
        .catch(() => undefined)
        .finally(() => {
          this.warming--;
          this.pump();
        });
    }
  }

  private async resolveBatch(batch: Array<{ key: string; done: (s: Settled) => void }>): Promise<void> {
    try {
      await this.routes.prime(batch.map((b) => b.key));
    } catch {
      // Each route's own lookup below reports (or recovers from) what went wrong.
    }
    for (const { key, done } of batch) {
      try {
        const ok = await this.routes.resolve(key);
        done({ ok });
        if ('pin' in ok && !this.stopped) this.toWarm.push(ok.pin);
      } catch (failed) {
        done({ failed });
      }
    }
  }
}
