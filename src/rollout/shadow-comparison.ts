/** How many recent relative differences are kept per pair for the p95. */
const RESERVOIR = 2048;

export interface ComparisonFigures {
  primaryVersion: number;
  shadowVersion: number;
  count: number;
  shadowErrors: number;
  meanAbsDiff: number | null;
  maxAbsDiff: number | null;
  p95RelDiff: number | null;
}

/**
 * Running comparison of one primary/shadow version pair: counts, shadow failures, mean and
 * max absolute difference of every output value, and the p95 relative difference over the
 * most recent values whose primary answer is not 0 (a ring buffer, so memory stays fixed
 * however long the mirror runs).
 */
export class ShadowComparison {
  private count = 0;
  private shadowErrors = 0;
  private values = 0;
  private sumAbs = 0;
  private maxAbs = 0;
  private readonly relDiffs = new Float64Array(RESERVOIR);
  private relCount = 0;

  constructor(
    readonly primaryVersion: number,
    readonly shadowVersion: number,
  ) {}

  recordError(): void {
    this.count++;
    this.shadowErrors++;
  }

  /** Outputs as flat numbers by output name; only names both versions produce, with as many values, are compared. */
  record(primary: Record<string, ArrayLike<number | bigint>>, shadow: Record<string, ArrayLike<number | bigint>>): void {
    this.count++;
    for (const [name, p] of Object.entries(primary)) {
      const s = shadow[name];
      // An output the shadow shapes differently (two values a row where the primary has one, say)
      // has no value-to-value match: lined up flat, row 2's value would meet row 1's second column.
      if (!s || s.length !== p.length) continue;
      for (let i = 0; i < p.length; i++) {
        const primaryValue = Number(p[i]);
        const abs = Math.abs(primaryValue - Number(s[i]));
        // A NaN or infinite value has no difference to speak of; counted, it would turn every figure to NaN for good.
        if (!Number.isFinite(abs)) continue;
        this.values++;
        this.sumAbs += abs;
        if (abs > this.maxAbs) this.maxAbs = abs;
        // Relative to the primary answer, so only where it is not 0 (as MAPE skips actuals of 0): a
        // forecast of 0 units against a shadow's 0.5 would otherwise count as a difference of 10^15.
        if (primaryValue !== 0) this.relDiffs[this.relCount++ % RESERVOIR] = abs / Math.abs(primaryValue);
      }
    }
  }

  figures(): ComparisonFigures {
    const kept = Math.min(this.relCount, RESERVOIR);
    const sorted = Array.from(this.relDiffs.subarray(0, kept)).sort((a, b) => a - b);
    return {
      primaryVersion: this.primaryVersion,
      shadowVersion: this.shadowVersion,
      count: this.count,
      shadowErrors: this.shadowErrors,
      meanAbsDiff: this.values ? this.sumAbs / this.values : null,
      maxAbsDiff: this.values ? this.maxAbs : null,
      p95RelDiff: kept ? sorted[Math.min(kept - 1, Math.ceil(0.95 * kept) - 1)] : null,
    };
  }
}
