import { LRUCache } from 'lru-cache';
import { CacheOccupancy, Footprint, NOTHING } from './cache-occupancy';
import { ServingError, ServingErrorCode } from './serving.error';
import type { SessionEntry } from './session-entry';

/** Whether what asked for room has it now (see makeRoom). */
export type RoomForLoad = 'fits' | 'tenant-full' | 'cache-full';

/** What makeRoom does when what comes in should not have the room now (see makeRoom). */
export type WithoutRoom = 'or-wait' | 'or-stay-out' | 'must-go-in';

/**
 * The sessions the cache holds: an LRU bounded by MMS_CACHE_MAX_BYTES (estimated bytes) and
 * MMS_CACHE_MAX_MODELS, and pinned sessions beside it that count against the same bounds, so the
 * LRU shrinks to make room for them; loads under way count too, by their estimated size (the
 * occupancy's `loading`). Decides who gives room when it is needed (makeRoom). What an evicted
 * session goes through (release, draining) is the session cache's: `onEvicted`.
 */
export class CacheResidents {
  private readonly lru: LRUCache<string, SessionEntry>;
  private readonly pinned = new Map<string, SessionEntry>();
  private pinnedBytes = 0;

  constructor(
    private readonly bounds: { maxBytes: number; maxModels: number },
    private readonly occupancy: CacheOccupancy,
    /** Whether tenants other than this one have loads waiting for room. */
    private readonly othersWaiting: (tenantId: string) => boolean,
    private readonly onEvicted: (entry: SessionEntry) => void,
  ) {
    this.lru = new LRUCache<string, SessionEntry>({
      max: bounds.maxModels,
      maxSize: bounds.maxBytes,
      sizeCalculation: (entry) => entry.sizeBytes,
      dispose: (entry, _key, reason) => {
        this.occupancy.countResident(entry.tenantId, entry.sizeBytes, -1);
        if (reason === 'evict') this.onEvicted(entry);
      },
    });
  }

  /** The session of this key, pinned or in the LRU (then its most recently used). */
  get(key: string): SessionEntry | undefined {
    return this.pinned.get(key) ?? this.lru.get(key);
  }

  /** As get, without counting as a use. */
  peek(key: string): SessionEntry | undefined {
    return this.pinned.get(key) ?? this.lru.peek(key);
  }

  has(key: string): boolean {
    return this.pinned.has(key) || this.lru.has(key);
  }

  isPinned(key: string): boolean {
    return this.pinned.has(key);
  }

  /** Pinned first, then the LRU from the most recently used. */
  entries(): SessionEntry[] {
    return [...this.pinned.values(), ...this.lru.values()];
  }

  usage(): { bytes: number; models: number; pinnedBytes: number; pinnedModels: number } {
    return { bytes: this.lru.calculatedSize + this.pinnedBytes, models: this.lru.size + this.pinned.size, pinnedBytes: this.pinnedBytes, pinnedModels: this.pinned.size };
  }

  /** Puts a ready, unpinned session into the LRU as its most recent entry (room made for it already). */
  add(entry: SessionEntry): void {
    this.lru.set(entry.key, entry);
    if (this.lru.peek(entry.key) === entry) this.occupancy.countResident(entry.tenantId, entry.sizeBytes, 1);
  }

  /** Takes a session out, not as an eviction (an unload, a lost worker). */
  remove(entry: SessionEntry): void {
    if (entry.pinned) this.removePinned(entry);
    else this.lru.delete(entry.key);
  }

  /** Pins a session (from the LRU, or taken back from retiring), making room for it in the LRU. */
  pin(entry: SessionEntry): void {
    if (this.lru.peek(entry.key) === entry) this.lru.delete(entry.key);
    entry.pinned = true;
    this.pinned.set(entry.key, entry);
    this.occupancy.countResident(entry.tenantId, entry.sizeBytes, 1);
    this.pinnedBytes += entry.sizeBytes;
    this.trim();
  }

  unpin(entry: SessionEntry): void {
    this.removePinned(entry);
    this.add(entry);
    this.trim();
  }

  /**
   * Refuses (409 PIN_LIMIT_EXCEEDED) a tenant's pin that pinned sessions would leave no room for,
   * or that would take its pins past its share of either bound: pins are never given back, so a
   * tenant pinning beyond its share would keep every other tenant's sessions out for good. The
   * details are the tenant's own pins only, never another tenant's.
   */
  assertPinRoom(tenantId: string, sizeBytes: number): void {
    const own = this.pinnedOf(tenantId);
    const refuse = (why: string, limit: Footprint, share?: number) =>
      new ServingError(ServingErrorCode.PinLimitExceeded, why, { pinnedModels: own.models, pinnedBytes: own.bytes, maxModels: limit.models, maxBytes: limit.bytes, ...(share === undefined ? {} : { share }) });
    const share = this.occupancy.shareLimitOf(tenantId);
    if (share && (own.bytes + sizeBytes > share.bytes || own.models + 1 > share.models)) {
      throw refuse(
        `This tenant's pinned models would exceed its share of the session cache (cacheShare ${share.share}: ${share.models} models, ${share.bytes} bytes); unpin or unload some first, or ask the operator for a larger cacheShare`,
        share,
        share.share,
      );
    }
    const { maxBytes, maxModels } = this.bounds;
    if (this.pinnedBytes + sizeBytes > maxBytes || this.pinned.size + 1 > maxModels) {
      throw refuse("Pinned models (every tenant's) would exceed the session cache's bounds; unpin or unload some first", { bytes: maxBytes, models: maxModels });
    }
  }

  /** What a tenant has pinned (pins are few: counted when one is asked for). */
  private pinnedOf(tenantId: string): Footprint {
    const own = { bytes: 0, models: 0 };
    for (const entry of this.pinned.values()) {
      if (entry.tenantId !== tenantId) continue;
      own.bytes += entry.sizeBytes;
      own.models++;
    }
    return own;
  }

  /** Whether `incoming` fits beside what is held and the loads under way (or, `evictingAll`, beside what cannot be evicted). */
  fits(incoming: Footprint, { evictingAll = false } = {}): boolean {
    const { maxBytes, maxModels } = this.bounds;
    const evictable = evictingAll ? { bytes: this.lru.calculatedSize, models: this.lru.size } : NOTHING;
    const { loading } = this.occupancy;
    const bytes = this.lru.calculatedSize - evictable.bytes + this.pinnedBytes + loading.bytes + incoming.bytes;
    return bytes <= maxBytes && this.lru.size - evictable.models + this.pinned.size + loading.models + incoming.models <= maxModels;
  }

  /**
   * Makes room for `incoming` of a tenant (a load about to start, a session going in or taken
   * back) when the cache has none free, evicting least recently used sessions: first of tenants
   * past their share (with `incoming`, this one may be), then of anyone. Free room is used
   * whatever the shares: a share only decides who gives room back when the cache is full.
   * Unless it `must-go-in`, it evicts nothing and answers why instead when what comes in should
   * not have the room now: loads under way hold it, or those of tenants past their share, who
   * give it back once loaded (`cache-full`); or the tenant is past its share and could only get
   * room from tenants within theirs (`tenant-full`). A load (`or-wait`) is only told so while
   * the tenant has loads of its own to wait for; without any, and with no other load under way
   * (a cache full of pinned sessions), it goes ahead, to be evicted again once loaded.
   */
  makeRoom(tenantId: string, incoming: Footprint, otherwise: WithoutRoom): RoomForLoad {
    if (this.fits(incoming)) return 'fits';
    const fitsAtAll = this.fits(incoming, { evictingAll: true });
    const sharing = this.occupancy.othersPresent(tenantId, this.othersWaiting(tenantId));
    const giving = sharing ? this.sessionsPastShare(tenantId, incoming) : { entries: [], enough: false, ownGiven: NOTHING };
    if (!giving.enough && otherwise !== 'must-go-in') {
      const stillPastShare = sharing && this.pastShareAfterGiving(tenantId, incoming, giving.ownGiven);
      if (stillPastShare && (otherwise === 'or-stay-out' || this.occupancy.hasLoadsUnderWay(tenantId))) return 'tenant-full';
      // Loads under way hold the room; or those of tenants past their share do, who give it back once loaded.
      if (this.occupancy.loading.models > 0 && (!fitsAtAll || (sharing && this.occupancy.pastShareLoadsUnderWay(tenantId)))) return 'cache-full';
    }
    if (!fitsAtAll) return 'fits'; // a lone load beside pinned sessions: it is evicted once loaded, and evicts nothing
    for (const entry of giving.entries) this.evict(entry);
    this.trim(incoming);
    return 'fits';
  }

  /**
   * Keeps pinned + LRU + the room loads under way hold (+ `incoming`, a load about to start)
   * within both bounds by evicting least recently used unpinned sessions.
   */
  private trim(incoming: Footprint = NOTHING): void {
    while (this.lru.size > 0 && !this.fits(incoming)) this.lru.pop();
  }

  /**
   * The least recently used sessions of tenants past their share (counting `incoming` as the
   * tenant's), in eviction order, until there would be room for `incoming`; whether that is
   * enough, and what of it is the tenant's own.
   */
  private sessionsPastShare(tenantId: string, incoming: Footprint): { entries: SessionEntry[]; enough: boolean; ownGiven: Footprint } {
    const { maxBytes, maxModels } = this.bounds;
    const { loading } = this.occupancy;
    const short = { bytes: this.lru.calculatedSize + this.pinnedBytes + loading.bytes + incoming.bytes - maxBytes, models: this.lru.size + this.pinned.size + loading.models + incoming.models - maxModels };
    const given = new Map<string, Footprint>();
    const pastAfterGiving = (t: string) => this.pastShareAfterGiving(t, t === tenantId ? incoming : NOTHING, given.get(t) ?? NOTHING);
    // The tenants past their share that have sessions in the LRU, found per tenant first: with none, no walk.
    const evictable = this.lruSessionsByTenant();
    const givers = new Set([...evictable.keys()].filter((t) => pastAfterGiving(t)));
    const entries: SessionEntry[] = [];
    for (const entry of this.lru.rvalues()) {
      if ((short.bytes <= 0 && short.models <= 0) || givers.size === 0) break;
      if (!entry || !givers.has(entry.tenantId)) continue;
      entries.push(entry);
      const gave = given.get(entry.tenantId) ?? NOTHING;
      given.set(entry.tenantId, { bytes: gave.bytes + entry.sizeBytes, models: gave.models + 1 });
      short.bytes -= entry.sizeBytes;
      short.models--;
      const left = (evictable.get(entry.tenantId) ?? 1) - 1;
      evictable.set(entry.tenantId, left);
      if (left === 0 || !pastAfterGiving(entry.tenantId)) givers.delete(entry.tenantId);
    }
    return { entries, enough: short.bytes <= 0 && short.models <= 0, ownGiven: given.get(tenantId) ?? NOTHING };
  }

  /** Whether the tenant would still be past its share with `incoming`, after giving back `ownGiven` of its sessions. */
  private pastShareAfterGiving(tenantId: string, incoming: Footprint, ownGiven: Footprint): boolean {
    return this.occupancy.isPastShare(tenantId, { bytes: incoming.bytes - ownGiven.bytes, models: incoming.models - ownGiven.models });
  }

  /** How many sessions each tenant has in the LRU (its resident ones that are not pinned). */
  private lruSessionsByTenant(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [tenantId, held] of this.occupancy.residents()) counts.set(tenantId, held.models);
    for (const entry of this.pinned.values()) counts.set(entry.tenantId, (counts.get(entry.tenantId) ?? 0) - 1);
    for (const [tenantId, count] of counts) if (count <= 0) counts.delete(tenantId);
    return counts;
  }

  private evict(entry: SessionEntry): void {
    this.lru.delete(entry.key); // a plain delete does not count as an eviction: count it here
    this.onEvicted(entry);
  }

  private removePinned(entry: SessionEntry): void {
    this.pinned.delete(entry.key);
    this.occupancy.countResident(entry.tenantId, entry.sizeBytes, -1);
    this.pinnedBytes -= entry.sizeBytes;
    entry.pinned = false;
  }
}
