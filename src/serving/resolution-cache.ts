import { LRUCache } from 'lru-cache';

export interface ResolutionCacheOptions {
  /** Bound on cached keys (positive and negative). */
  maxEntries: number;
  /** Age after which a positive entry is refreshed in the background (it is still served meanwhile). */
  freshMs: () => number;
  /** How long a "does not exist" answer is trusted. */
  negativeMs: number;
  /** After a failed background refresh, the stale entry is kept this long before the next try. */
  retryAfterErrorMs: number;
  now?: () => number;
  onBackgroundError?: (error: unknown) => void;
}

interface Entry<V> {
  value: V | null;
  storedAt: number;
  generation: number;
}

interface Flight<V> {
  promise: Promise<V | null>;
  generation: number;
  /** Set when the key was invalidated while loading: the answer is returned but not kept. */
  stale: boolean;
}

/**
 * Per-tenant memo of database lookups for the predict path: a hit answers synchronously,
 * concurrent misses share one query, "not found" is remembered briefly, and an old entry is
 * served while it is refreshed in the background (so the hot path never waits on the database).
 * Invalidation is by key or by tenant; a load that overlaps an invalidation is not stored.
 */
export class ResolutionCache<V extends object> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly inflight = new Map<string, Flight<V>>();
  /** Bumped to invalidate every entry of a tenant at once. */
  private readonly generations = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: ResolutionCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
  }

  /** The value (or null for "does not exist"), synchronously when cached. */
  get(tenantId: string, key: string, load: () => Promise<V | null>): V | null | Promise<V | null> {
    const fullKey = `${tenantId}\u0000${key}`;
    const entry = this.entries.get(fullKey);
    if (entry && entry.generation === this.generationOf(tenantId)) {
      const age = this.now() - entry.storedAt;
      if (entry.value === null) {
        if (age < this.options.negativeMs) return null;
      } else {
        if (age >= this.options.freshMs()) this.refresh(fullKey, tenantId, entry, load);
        return entry.value;
      }
    }
    return this.load(fullKey, tenantId, load);
  }

  /**
   * Many keys at once: those neither cached nor loading are loaded together by one `loadMany`
   * (keys it does not answer are "does not exist"); each key then behaves as with get().
   */
  getMany(tenantId: string, keys: readonly string[], loadMany: (missing: string[]) => Promise<Map<string, V>>): Array<V | null | Promise<V | null>> {
    const generation = this.generationOf(tenantId);
    const missing = keys.filter((key) => {
      const fullKey = `${tenantId}\u0000${key}`;
      const entry = this.entries.peek(fullKey);
      return !this.inflight.has(fullKey) && !(entry && entry.generation === generation && this.now() - entry.storedAt < (entry.value === null ? this.options.negativeMs : this.options.freshMs()));
    });
    if (missing.length) {
      const together = loadMany(missing);
      // Each key's waiter sees the failure; this one only keeps it from going unhandled.
      together.catch(() => undefined);
      for (const key of missing) void this.load(`${tenantId}\u0000${key}`, tenantId, () => together.then((found) => found.get(key) ?? null)).catch(() => undefined);
    }
    return keys.map((key) => this.get(tenantId, key, () => loadMany([key]).then((found) => found.get(key) ?? null)));
  }

  invalidate(tenantId: string, key: string): void {
    const fullKey = `${tenantId}\u0000${key}`;
    this.entries.delete(fullKey);
    const flight = this.inflight.get(fullKey);
    if (flight) {
      flight.stale = true;
      this.inflight.delete(fullKey);
    }
  }

  invalidateTenant(tenantId: string): void {
    this.generations.set(tenantId, this.generationOf(tenantId) + 1);
    for (const [key, flight] of this.inflight) {
      if (key.startsWith(`${tenantId}\u0000`)) {
        flight.stale = true;
        this.inflight.delete(key);
      }
    }
  }

  clear(): void {
    this.entries.clear();
    for (const flight of this.inflight.values()) flight.stale = true;
    this.inflight.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private load(fullKey: string, tenantId: string, load: () => Promise<V | null>): Promise<V | null> {
    const existing = this.inflight.get(fullKey);
    if (existing) return existing.promise;
    const flight: Flight<V> = { generation: this.generationOf(tenantId), stale: false, promise: Promise.resolve(null) };
    flight.promise = load().then(
      (value) => {
        if (!flight.stale && flight.generation === this.generationOf(tenantId)) {
          this.entries.set(fullKey, { value, storedAt: this.now(), generation: flight.generation });
        }
        if (this.inflight.get(fullKey) === flight) this.inflight.delete(fullKey);
        return value;
      },
      (error: unknown) => {
        if (this.inflight.get(fullKey) === flight) this.inflight.delete(fullKey);
        throw error;
      },
    );
    this.inflight.set(fullKey, flight);
    return flight.promise;
  }

  private refresh(fullKey: string, tenantId: string, entry: Entry<V>, load: () => Promise<V | null>): void {
    if (this.inflight.has(fullKey)) return;
    this.load(fullKey, tenantId, load).catch((error: unknown) => {
      // Keep serving what we had; try again a little later rather than on every request.
      entry.storedAt = this.now() - this.options.freshMs() + this.options.retryAfterErrorMs;
      this.options.onBackgroundError?.(error);
    });
  }

  private generationOf(tenantId: string): number {
    return this.generations.get(tenantId) ?? 0;
  }
}
