import { Logger } from '@nestjs/common';

/** Estimated bytes and a number of sessions. */
export interface Footprint {
  bytes: number;
  models: number;
}

export const NOTHING: Footprint = Object.freeze({ bytes: 0, models: 0 });

/**
 * Who holds what in the session cache: each tenant's resident sessions (loaded, pinned or not)
 * and the room its loads under way hold, kept as they come and go so that the share rules need
 * no walk of the cache. A tenant's share (`cacheShare`) is the fraction of both bounds it keeps
 * when the cache is full and other tenants are present.
 */
export class CacheOccupancy {
  private readonly logger = new Logger('SessionCache');
  private readonly resident = new Map<string, Footprint>();
  private readonly loads = new Map<string, Footprint>();
  private readonly allLoads: Footprint = { bytes: 0, models: 0 };

  constructor(
    private readonly bounds: { maxBytes: number; maxModels: number },
    private readonly readShare?: (tenantId: string) => number,
  ) {}

  /** The room all loads under way hold. */
  get loading(): Readonly<Footprint> {
    return this.allLoads;
  }

  residentOf(tenantId: string): Readonly<Footprint> {
    return this.resident.get(tenantId) ?? NOTHING;
  }

  /** Tenants with resident sessions, and what they hold. */
  residents(): IterableIterator<[string, Readonly<Footprint>]> {
    return this.resident.entries();
  }

  hasLoadsUnderWay(tenantId: string): boolean {
    return this.loads.has(tenantId);
  }

  /** A session of `bytes` came in (1) or went (-1). */
  countResident(tenantId: string, bytes: number, sign: 1 | -1): void {
    add(this.resident, tenantId, sign * bytes, sign);
  }

  /** A load took its room (1) or gave it back (-1). */
  countLoad(tenantId: string, bytes: number, sign: 1 | -1): void {
    this.allLoads.bytes += sign * bytes;
    this.allLoads.models += sign;
    add(this.loads, tenantId, sign * bytes, sign);
  }

  /** Whether other tenants hold sessions or load some (`othersWaiting`: or wait to): a share only applies then. */
  othersPresent(tenantId: string, othersWaiting: boolean): boolean {
    const others = (map: ReadonlyMap<string, unknown>) => map.size > (map.has(tenantId) ? 1 : 0);
    return others(this.resident) || others(this.loads) || othersWaiting;
  }

  /**
   * Whether a tenant holds (sessions and loads under way, plus `extra`) more than its share of
   * either bound. A tenant holding nothing is within it, so a model bigger than the share still
   * gets its turn.
   */
  isPastShare(tenantId: string, extra: Footprint): boolean {
    const limit = this.shareLimitOf(tenantId);
    if (!limit) return false;
    const held = this.residentOf(tenantId);
    const loading = this.loads.get(tenantId) ?? NOTHING;
    if (held.models + loading.models === 0) return false;
    return held.bytes + loading.bytes + extra.bytes > limit.bytes || held.models + loading.models + extra.models > limit.models;
  }

  /** The tenant's share of both bounds (of the models rounded down, at least one); null for the whole cache. */
  shareLimitOf(tenantId: string): (Footprint & { share: number }) | null {
    const share = this.shareOf(tenantId);
    if (share >= 1) return null;
    const { maxBytes, maxModels } = this.bounds;
    return { share, bytes: Math.floor(share * maxBytes), models: Math.max(1, Math.floor(share * maxModels)) };
  }

  /** Whether a tenant other than this one is past its share with loads under way (room it gives back once they are in). */
  pastShareLoadsUnderWay(tenantId: string): boolean {
    for (const other of this.loads.keys()) if (other !== tenantId && this.isPastShare(other, NOTHING)) return true;
    return false;
  }

  /** The tenant's share; all of the cache when it cannot be read (the cache must go on deciding). */
  shareOf(tenantId: string): number {
    try {
      return this.readShare?.(tenantId) ?? 1;
    } catch (error) {
      this.logger.warn(`cache share of tenant ${tenantId} unknown, taken as the whole cache: ${(error as Error).message}`);
      return 1;
    }
  }
}

function add(map: Map<string, Footprint>, tenantId: string, bytes: number, models: number): void {
  const held = map.get(tenantId) ?? { bytes: 0, models: 0 };
  held.bytes += bytes;
  held.models += models;
  if (held.models <= 0) map.delete(tenantId);
  else map.set(tenantId, held);
}
