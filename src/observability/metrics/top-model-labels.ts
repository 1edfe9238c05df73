/** The label value every model outside the top N shares. */
export const OTHER = 'other';

export interface TopModelLabelsOptions {
  /** How many models (tenant + name) get their own label value; 0 = none. */
  maxModels: number;
  /** How often membership is recomputed from traffic. */
  windowMs?: number;
  /** Distinct models counted per window at most (memory bound); later newcomers wait for the next window. */
  maxTracked?: number;
  now?: () => number;
  /** Told which models lost their own label, so their series can be removed. */
  onDemoted?: (keys: string[]) => void;
}

export const DEFAULT_WINDOW_MS = 60_000;

/**
 * Keeps per-model label values bounded at any number of models: the N busiest models (by
 * requests, a score that halves every window) keep `model="<name>"`, every other model is
 * counted under `model="other"`. Until N models have been seen, newcomers are admitted at
 * once; after that, membership changes only when it is recomputed, once per window, so
 * series churn is at most N label sets per window. A model's key is its tenant and name.
 */
export class TopModelLabels {
  readonly maxModels: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  private members = new Set<string>();
  /** Requests per model in the current window. */
  private window = new Map<string, number>();
  /** Decayed scores of earlier windows (only the best few N are kept). */
  private scores = new Map<string, number>();
  private windowStart: number;
  private onDemoted?: (keys: string[]) => void;

  constructor(options: TopModelLabelsOptions) {
    this.maxModels = options.maxModels;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxTracked = options.maxTracked ?? Math.max(10_000, options.maxModels * 10);
    this.now = options.now ?? Date.now;
    this.onDemoted = options.onDemoted;
    this.windowStart = this.now();
  }

  static key(tenantId: string, model: string): string {
    return `${tenantId}\u0000${model}`;
  }

  /** Registers the listener told about demoted models (the metrics that hold per-model series). */
  listen(onDemoted: (keys: string[]) => void): void {
    const previous = this.onDemoted;
    this.onDemoted = previous ? (keys) => (previous(keys), onDemoted(keys)) : onDemoted;
  }

  /**
   * The label value for a model; counts one request towards its rank when `count` is set
   * (requests do, feedback and scrape-time figures only look).
   */
  labelFor(tenantId: string, model: string, count = true): string {
    if (this.maxModels === 0) return OTHER;
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) this.rebalance(now);
    const key = TopModelLabels.key(tenantId, model);
    if (count) {
      const seen = this.window.get(key);
      if (seen !== undefined) this.window.set(key, seen + 1);
      else if (this.window.size < this.maxTracked) this.window.set(key, 1);
    }
    if (this.members.has(key)) return model;
    if (this.members.size < this.maxModels) {
      this.members.add(key);
      return model;
    }
    return OTHER;
  }

  /** Whether a model has its own label value now (no admission, no counting). */
  isMember(tenantId: string, model: string): boolean {
    return this.members.has(TopModelLabels.key(tenantId, model));
  }

  get size(): number {
    return this.members.size;
  }

  /** Recomputes membership now (tests; normally once per window). */
  rebalance(now = this.now()): void {
    const next = new Map<string, number>();
    for (const [key, score] of this.scores) next.set(key, score / 2);
    for (const [key, count] of this.window) next.set(key, (next.get(key) ?? 0) + count);
    // Stable order: by score, then current members first (ties don't flap), then by key.
    const ranked = [...next.entries()]
      .filter(([, score]) => score >= 0.01)
      .sort((a, b) => b[1] - a[1] || Number(this.members.has(b[0])) - Number(this.members.has(a[0])) || (a[0] < b[0] ? -1 : 1));
    const top = new Set(ranked.slice(0, this.maxModels).map(([key]) => key));
    const demoted = [...this.members].filter((key) => !top.has(key));
    this.members = top;
    this.scores = new Map(ranked.slice(0, this.maxModels * 4 + 16));
    this.window = new Map();
    this.windowStart = now;
    if (demoted.length) this.onDemoted?.(demoted);
  }
}
