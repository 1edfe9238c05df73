import { LRUCache } from 'lru-cache';
import type { LoadFailure } from './load-backoff';
import { SessionEntry, SessionState, SessionStats } from './session-entry';

/** One version in `GET /v1/cache`: loaded, loading, retiring or failed. */
export interface CacheEntryView {
  tenantId: string;
  model: string;
  version: number;
  state: SessionState;
  sizeBytes: number | null;
  pinned: boolean;
  inUse: number;
  worker: number | null;
  loadMs: number | null;
  loadedAt: string | null;
  lastUsedAt: string | null;
  retryAt?: string;
  error?: string;
  /** A load waiting for other loads to finish before it fits beside them. */
  waitingForRoom?: boolean;
  stats: SessionStats;
}

/** A tenant's (or everyone's) counters since the process started. */
export interface CacheTotals {
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  evictions: number;
}

/**
 * The cache's counters: per version (outliving its session, so that reloads and evictions add up)
 * and per tenant. A loaded session's own counters are its entry's `stats`, the same object.
 */
export class CacheCounters {
  private readonly versions = new LRUCache<string, SessionStats>({ max: 100_000 });
  private readonly tenants = new Map<string, CacheTotals>();

  /** The version's counters, created on first use. */
  of(versionId: string): SessionStats {
    let stats = this.versions.get(versionId);
    if (!stats) {
      stats = zeroStats();
      this.versions.set(versionId, stats);
    }
    return stats;
  }

  /** The version's counters for a view (none counted yet: zeros, nothing created). */
  peek(versionId: string): SessionStats {
    return this.versions.get(versionId) ?? zeroStats();
  }

  /** One more `what` for a version (its `stats`) and its tenant. */
  count(stats: SessionStats, tenantId: string, what: keyof CacheTotals): void {
    stats[what]++;
    let totals = this.tenants.get(tenantId);
    if (!totals) {
      totals = zeroTotals();
      this.tenants.set(tenantId, totals);
    }
    totals[what]++;
  }

  /** A tenant's totals, or everyone's when tenantId is null (a copy). */
  totals(tenantId: string | null): CacheTotals {
    if (tenantId !== null) return { ...(this.tenants.get(tenantId) ?? zeroTotals()) };
    const sum = zeroTotals();
    for (const t of this.tenants.values()) for (const k of Object.keys(sum) as Array<keyof CacheTotals>) sum[k] += t[k];
    return sum;
  }
}

export function loadedView(entry: SessionEntry): CacheEntryView {
  return {
    tenantId: entry.tenantId,
    model: entry.model,
    version: entry.version,
    state: entry.state,
    sizeBytes: entry.sizeBytes,
    pinned: entry.pinned,
    inUse: entry.refs,
    worker: entry.handle.worker,
    loadMs: entry.loadMs,
    loadedAt: new Date(entry.loadedAt).toISOString(),
    lastUsedAt: new Date(entry.lastUsedAt).toISOString(),
    stats: { ...entry.stats },
  };
}

/** A load under way, or waiting for room (`waitingForRoom`); its size once its file is found. */
export function loadingView(v: { tenantId: string; model: string; version: number }, load: { sizeBytes?: number; waiters: number; waitingForRoom: boolean }, stats: SessionStats): CacheEntryView {
  const view = { ...emptyView(v.tenantId, v.model, v.version, SessionState.Loading), sizeBytes: load.sizeBytes ?? null, inUse: load.waiters, stats: { ...stats } };
  return load.waitingForRoom ? { ...view, waitingForRoom: true } : view;
}

/** A version whose last load failed, waiting for its retry. */
export function failedView(failure: LoadFailure, stats: SessionStats): CacheEntryView {
  return {
    ...emptyView(failure.tenantId, failure.model, failure.version, SessionState.Failed),
    retryAt: new Date(failure.retryAt).toISOString(),
    error: failure.reason,
    stats: { ...stats },
  };
}

export function zeroStats(): SessionStats {
  return { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0, requests: 0, calls: 0 };
}

function zeroTotals(): CacheTotals {
  return { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0 };
}

function emptyView(tenantId: string, model: string, version: number, state: SessionState): CacheEntryView {
  return { tenantId, model, version, state, sizeBytes: null, pinned: false, inUse: 0, worker: null, loadMs: null, loadedAt: null, lastUsedAt: null, stats: zeroStats() };
}
