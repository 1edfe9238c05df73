/** Latency of one repeated operation, in milliseconds. */
export interface Timing {
  iterations: number;
  medianMs: number;
  p95Ms: number;
}

export interface RoundsOptions {
  /** Unmeasured rounds first (JIT, caches, connection pool). */
  warmupRounds: number;
  rounds: number;
  /** Stop early, after at least `minRounds`, once this much time is spent: keeps slow baselines bounded. */
  budgetMs: number;
  minRounds: number;
}

/**
 * Times several operations in rounds, each round running every operation once, one call at a
 * time. On a noisy machine a burst of load then hits all of them alike instead of whichever
 * happened to be running, so their ratios stay meaningful.
 */
export async function measureRounds(tasks: Array<() => Promise<unknown>>, options: RoundsOptions): Promise<Timing[]> {
  for (let r = 0; r < options.warmupRounds; r++) for (const task of tasks) await task();
  const samples: number[][] = tasks.map(() => []);
  const start = performance.now();
  for (let r = 0; r < options.rounds; r++) {
    for (const [i, task] of tasks.entries()) {
      const t0 = performance.now();
      await task();
      samples[i].push(performance.now() - t0);
    }
    if (r + 1 >= options.minRounds && performance.now() - start > options.budgetMs) break;
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return { iterations: s.length, medianMs: quantile(s, 0.5), p95Ms: quantile(s, 0.95) };
  });
}

/** Linear interpolation between the closest ranks of sorted samples. */
export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
