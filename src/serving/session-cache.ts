import { servingHookMetrics } from '../observability/metrics/hook-metrics';
import { LRUCache } from 'lru-cache';
import type { RegistryChange } from '../registry/registry-events';
import { InferenceRuntime, SessionHandle } from './runtime/inference-runtime';
import type { ServableVersion } from './servable';
import { estimateSessionBytes, GraphKind, SESSION_OVERHEAD_BYTES } from './session-footprint';
import { LoadQueue } from './load-queue';
import { CacheOccupancy, Footprint } from './cache-occupancy';
import { CacheResidents, RoomForLoad } from './cache-residents';
import { CacheCounters, CacheEntryView, CacheTotals, failedView, loadedView, loadingView } from './cache-views';
import { LoadBackoff } from './load-backoff';
import { ServingError, ServingErrorCode } from './serving.error';
import { SessionEntry, SessionLease, SessionState, Withdrawal } from './session-entry';

interface PendingLoad {
  version: ServableVersion;
  promise: Promise<SessionEntry>;
  /** Requests waiting for this load; they hold a reference from the moment it completes. */
  waiters: number;
  /** Unloaded or deleted while loading: the session is released once loaded, not cached. */
  cancelled?: Withdrawal;
  startedAt: number;
  /** When it got its room and the runtime started loading (after waiting, if it had to). */
  roomAt?: number;
  /** The session's estimated size, once its file is located. */
  sizeBytes?: number;
  /** Its room in the cache is taken (counted in the occupancy's loads) and the runtime is loading it. */
  holdsRoom?: boolean;
  /** Waiting for loads in flight to finish before it fits beside them (see takeRoomToLoad). */
  waitingForRoom?: WaitingLoad;
}

interface WaitingLoad {
  readonly tenantId: string;
  readonly pending: PendingLoad;
  readonly sizeBytes: number;
  /** When it began to wait. */
  readonly since: number;
  start(): void;
  fail(error: Error): void;
}

export interface ArtifactLocation {
  path: string;
  bytes: number;
  /** Decides the size estimate (session-footprint.ts); tensors when not given. */
  kind?: GraphKind;
  /** The padding of its packed weights, when read from the file before loading it (else the load finds it). */
  paddingBytes?: number;
  /** The file's content address, checked when it is loaded (a damaged copy fails the load). */
  sha256?: string;
}

export interface SessionCacheOptions {
  maxBytes: number;
  maxModels: number;
  /** First retry delay after a failed load; doubles per failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  now?: () => number;
  /**
   * Largest fraction (0–1] of both bounds one tenant's sessions may hold while other tenants
   * have sessions too, so one tenant's traffic cannot evict everybody else's models.
   */
  shareOf?: (tenantId: string) => number;
}

/**
 * The bounded cache of inference sessions: loads each version once however many requests wait
 * for it, each load taking its room in the cache before it starts (or waiting for it), and hands
 * out leases. Which sessions it holds, within which bounds, and who gives room are
 * CacheResidents'. Eviction releases a session at once when idle, or when its last request ends.
 */
export class SessionCache {
  private readonly residents: CacheResidents;
  /** Evicted or unloaded while in use. */
  private readonly retiring = new Set<SessionEntry>();
  /**
   * Evicted to make room while requests still ran on it (so its memory is held anyway): until the
   * last of them ends, a new request for its key takes it back into the cache (the most recently
   * used, counted in the bounds again) instead of loading it again. Without this, a model that
   * cannot stay (the cache full of pinned models, or a burst over more models than the cache
   * holds) was loaded again by every wave of requests arriving after its load.
   */
  private readonly draining = new Map<string, SessionEntry>();
  private readonly loading = new Map<string, PendingLoad>();
  /** What each tenant holds and loads, for the bounds and the shares. */
  private readonly occupancy: CacheOccupancy;
  /** Loads waiting for room that loads under way hold. */
  private readonly roomQueue = new LoadQueue<WaitingLoad>();
  private readonly backoff: LoadBackoff;
  private readonly counters = new CacheCounters();
  private readonly now: () => number;
  /** Deletions seen, and when (in that count) each model and version was last deleted: see deletionMark. */
  private deletionsSeen = 0;
  private readonly deletedAt = new LRUCache<string, number>({ max: 10_000 });
  /** Memory sessions of a file's content held beyond the estimate from its size (SessionHandle.extraBytes), once one was loaded. */
  private readonly extraByContent = new LRUCache<string, number>({ max: 100_000 });

  constructor(
    private readonly runtime: InferenceRuntime,
    private readonly locate: (version: ServableVersion) => Promise<ArtifactLocation>,
    readonly options: SessionCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.occupancy = new CacheOccupancy(options, options.shareOf);
    this.backoff = new LoadBackoff(this.now, options.retryBaseMs, options.retryMaxMs);
    this.residents = new CacheResidents(options, this.occupancy, (tenantId) => this.roomQueue.hasOtherThan(tenantId), (entry) => this.evicted(entry));
    runtime.onSessionsLost((keys) => this.forgetLost(keys));
  }

  /** A lease on the version's session: synchronous when loaded, else after the (shared) load. */
  acquire(version: ServableVersion): SessionLease | Promise<SessionLease> {
    return this.loadedLease(version) ?? this.acquireCold(version);
  }

  /**
   * A lease on the version's session when it is loaded (a request's hit), else undefined. A
   * prewarm (`request: false`) is no request: it counts no hit.
   */
  private loadedLease(version: ServableVersion, { request = true } = {}): SessionLease | undefined {
    const entry = this.residents.get(version.id) ?? this.drainingSession(version.id);
    if (!entry) return undefined;
    entry.refs++;
    if (request) this.counters.count(entry.stats, version.tenantId, 'hits');
    entry.lastUsedAt = this.now();
    return this.lease(entry);
  }

  /**
   * A session evicted while in use, asked for again (see `draining`): back in the LRU as its most
   * recent entry when makeRoom finds it room; else (its tenant past its share and only tenants
   * within theirs could give room, or loads under way hold it) it answers where it is, still
   * draining (its memory is held anyway).
   */
  private drainingSession(key: string): SessionEntry | undefined {
    const entry = this.draining.get(key);
    if (!entry || entry.lost) return undefined;
    if (this.residents.makeRoom(entry.tenantId, { bytes: entry.sizeBytes, models: 1 }, 'or-stay-out') !== 'fits') return entry;
    this.draining.delete(key);
    this.retiring.delete(entry);
    entry.state = SessionState.Ready;
    this.admit(entry);
    return entry;
  }

  /** Puts a ready, unpinned session into the LRU, making room for it (see makeRoom). */
  private admit(entry: SessionEntry): void {
    const incoming = { bytes: entry.sizeBytes, models: 1 };
    if (!this.residents.fits(incoming, { evictingAll: true })) {
      // Pinned sessions and loads under way leave no room for it: it serves its requests and goes, evicting nothing.
      this.evicted(entry);
      return;
    }
    this.residents.makeRoom(entry.tenantId, incoming, 'must-go-in');
    this.residents.add(entry);
  }

  /**
   * Prewarm (and pin or unpin) a version; answers its cache entry. Asked for explicitly, a load
   * that failed is tried again at once, not after its backoff (a failure still lengthens it).
   */
  async load(version: ServableVersion, options: { pin?: boolean; mark?: number } = {}): Promise<CacheEntryView> {
    // A pin that cannot fit is refused before loading (a load would only evict something for nothing).
    if (options.pin === true && !this.residents.isPinned(version.id)) {
      const sizeBytes = await this.estimateFitting(version); // too big for the cache at all: 503, not "unpin some"
      if (sizeBytes !== null) this.residents.assertPinRoom(version.tenantId, sizeBytes);
    }
    // A prewarm is no request: hits and misses count requests only (a miss: a request that waited for a load).
    const lease = await (this.loadedLease(version, { request: false }) ?? this.acquireCold(version, { despiteBackoff: true, request: false }));
    try {
      this.assertNotDeleted(version, lease.entry, options.mark);
      if (options.pin === true) this.pin(lease.entry);
      if (options.pin === false) this.unpin(lease.entry);
    } finally {
      lease.release();
    }
    // After the release: the answer's inUse counts requests, not this load's own lease.
    return loadedView(lease.entry);
  }

  /**
   * A mark to take before resolving the version given to load(): a deletion of its model or version
   * seen after it means the resolution may have been stale (another replica's delete still on its
   * way), and the session load() brought in is dropped, not kept (or pinned) for a version gone.
   */
  deletionMark(): number {
    return this.deletionsSeen;
  }

  private assertNotDeleted(version: ServableVersion, entry: SessionEntry, mark: number | undefined): void {
    if (entry.withdrawn !== 'deleted' && (mark === undefined || !this.deletedSince(version, mark))) return;
    if (entry.withdrawn === undefined) this.withdraw(entry, 'deleted');
    throw deletedWhileLoading(version);
  }

  /** Whether the version or its model was deleted after `mark` (a deletionMark). */
  private deletedSince(version: ServableVersion, mark: number): boolean {
    return (this.deletedAt.get(modelKey(version)) ?? -1) > mark || (this.deletedAt.get(versionKey(version)) ?? -1) > mark;
  }

  /**
   * Takes this session out (not whatever now has its model's name and number: a model deleted and
   * registered again numbers its versions from 1 again) and releases it once idle.
   */
  private withdraw(entry: SessionEntry, why: Withdrawal): void {
    if (this.residents.peek(entry.key) === entry) this.residents.remove(entry);
    if (this.draining.get(entry.key) === entry) this.draining.delete(entry.key);
    entry.withdrawn = why;
    this.retire(entry);
    this.startWaitingLoads(); // room it freed
  }

  /** Whether some version of the model is loaded here now (walks the cache: not for the request path). */
  hasLoadedVersionOf(tenantId: string, model: string): boolean {
    for (const entry of this.residents.entries()) if (entry.tenantId === tenantId && entry.model === model) return true;
    return false;
  }

  /** Drops the matching sessions (released once idle) and withdraws their loads under way; returns the versions it took out. */
  unload(tenantId: string, model: string, version?: number, why: Withdrawal = 'unloaded'): number[] {
    const matches = (e: { tenantId: string; model: string; version: number }) =>
      e.tenantId === tenantId && e.model === model && (version === undefined || e.version === version);
    const unloaded: number[] = [];
    // Draining sessions are shared no more: an unloaded version loads anew on its next request.
    for (const entry of [...this.draining.values()]) if (matches(entry)) this.draining.delete(entry.key);
    for (const entry of this.residents.entries()) {
      if (!matches(entry)) continue;
      this.residents.remove(entry);
      entry.withdrawn = why;
      this.retire(entry);
      unloaded.push(entry.version);
    }
    for (const pending of [...this.loading.values()]) {
      if (!matches(pending.version)) continue;
      pending.cancelled = why;
      if (!unloaded.includes(pending.version.version)) unloaded.push(pending.version.version);
      // Not loaded yet, and gone: its requests answer 404 at once instead of waiting for room.
      if (why === 'deleted' && pending.waitingForRoom) this.leaveQueue(pending.waitingForRoom).fail(deletedWhileLoading(pending.version));
    }
    // A deleted version's failed load is never tried again: no longer listed (nor counted) as failed.
    if (why === 'deleted') this.backoff.forget(matches);
    this.startWaitingLoads(); // room the unload freed
    return unloaded.sort((a, b) => a - b);
  }

  /** A deleted model or version frees its memory at once. */
  onRegistryChange(change: RegistryChange): void {
    const { tenantId, model, version } = change;
    if (change.kind === 'model-deleted') {
      this.deletedAt.set(modelKey({ tenantId, model }), ++this.deletionsSeen);
      this.unload(tenantId, model, undefined, 'deleted');
    } else if (change.kind === 'version-deleted' && version !== undefined) {
      this.deletedAt.set(versionKey({ tenantId, model, version }), ++this.deletionsSeen);
      this.unload(tenantId, model, version, 'deleted');
    }
  }

  /** What is loaded (and loading, failing, retiring); one tenant's, or everyone's when tenantId is null. */
  snapshot(tenantId: string | null): { models: CacheEntryView[]; bytes: number; pinned: number; totals: CacheTotals } {
    const mine = (t: string) => tenantId === null || t === tenantId;
    const models: CacheEntryView[] = [];
    for (const entry of [...this.residents.entries(), ...this.retiring]) if (mine(entry.tenantId)) models.push(loadedView(entry));
    for (const pending of this.loading.values()) {
      const v = pending.version;
      if (mine(v.tenantId)) models.push(loadingView(v, { ...pending, waitingForRoom: pending.waitingForRoom !== undefined }, this.counters.peek(v.id)));
    }
    for (const [key, failure] of this.backoff.entries()) {
      if (mine(failure.tenantId) && !this.loading.has(key)) models.push(failedView(failure, this.counters.peek(key)));
    }
    models.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.version - b.version));
    const totals = this.counters.totals(tenantId);
    const resident = models.filter((m) => m.state === SessionState.Ready || m.state === SessionState.Unloading);
    return { models, bytes: resident.reduce((sum, m) => sum + (m.sizeBytes ?? 0), 0), pinned: models.filter((m) => m.pinned).length, totals };
  }

  /** Whether a version is loaded now; throws the load failure while a failed load waits for its retry. */
  async readiness(version: ServableVersion): Promise<{ loaded: boolean }> {
    const refusal = this.loading.has(version.id) ? undefined : this.backoff.refusal(version);
    if (refusal) throw refusal;
    const loaded = this.residents.has(version.id);
    // Never servable: estimated bigger than the whole cache (503 MODEL_TOO_LARGE, as a request would get).
    if (!loaded) await this.estimateFitting(version);
    return { loaded };
  }

  /**
   * The estimated size of a version not loaded yet, after checking it fits the cache at all (503
   * MODEL_TOO_LARGE); null when its file cannot be found, which is the load's to report
   * (MODEL_LOAD_FAILED).
   */
  private async estimateFitting(version: ServableVersion): Promise<number | null> {
    const artifact = await this.locate(version).catch(() => null);
    if (!artifact) return null;
    const sizeBytes = this.estimate(artifact);
    this.checkFitsCache(version, sizeBytes);
    return sizeBytes;
  }

  /** A session's estimated size: from its file's size and graph kind, plus the padding of its packed weights (read from the file, or found by a load of the same content). */
  private estimate(artifact: ArtifactLocation): number {
    return estimateSessionBytes(artifact.bytes, artifact.kind) + (artifact.paddingBytes ?? ((artifact.sha256 && this.extraByContent.get(artifact.sha256)) || 0));
  }

  private checkFitsCache(version: ServableVersion, sizeBytes: number): void {
    if (sizeBytes <= this.options.maxBytes) return;
    throw new ServingError(
      ServingErrorCode.ModelTooLarge,
      `Model '${version.model}' version ${version.version} needs about ${sizeBytes} bytes, more than the whole session cache (MMS_CACHE_MAX_BYTES=${this.options.maxBytes})`,
      { model: version.model, version: version.version, estimatedBytes: sizeBytes, maxBytes: this.options.maxBytes },
    );
  }

  /**
   * Whether a speculative load (batch planning warming the models its job will need) may go
   * in: only into free room, so warming never evicts a loaded session. A tenth of each bound
   * (and of the tenant's share) stays free for traffic. Loads in flight count as if already in,
   * by their estimated size once their file is known and by the average session's before, so
   * that many warms admitted side by side do not together overfill the cache.
   */
  hasRoomToWarm(tenantId: string): boolean {
    const { maxBytes, maxModels } = this.options;
    const FILL = 0.9;
    const { bytes, models } = this.usage();
    const guess = models ? bytes / models : SESSION_OVERHEAD_BYTES;
    const all = { bytes: bytes + guess, models: models + 1 };
    const held = { ...this.occupancy.residentOf(tenantId) };
    held.bytes += guess;
    held.models += 1;
    for (const pending of this.loading.values()) {
      const size = pending.sizeBytes ?? guess;
      all.bytes += size;
      all.models++;
      if (pending.version.tenantId !== tenantId) continue;
      held.bytes += size;
      held.models++;
    }
    if (all.bytes > FILL * maxBytes || all.models > Math.floor(FILL * maxModels)) return false;
    const share = this.occupancy.shareOf(tenantId);
    return held.bytes <= FILL * share * maxBytes && held.models <= Math.floor(FILL * share * maxModels);
  }

  /** Bytes and models held right now, across tenants (the bound's subject), and the room loads under way hold. */
  usage(): { bytes: number; models: number; pinnedBytes: number; pinnedModels: number; loading: Footprint; waitingLoads: number } {
    return { ...this.residents.usage(), loading: { ...this.occupancy.loading }, waitingLoads: this.roomQueue.size };
  }

  private async acquireCold(version: ServableVersion, options: { despiteBackoff?: boolean; request?: boolean } = {}): Promise<SessionLease> {
    let pending = this.loading.get(version.id);
    // Unloaded while it loaded, before this request came: that session goes once loaded, so this
    // request waits for that load to end and loads anew (a pin or prewarm asked for after an unload
    // is kept), unless the version was deleted meanwhile. A deleted version's load is joined: its
    // requests answer 404 with it.
    const mark = this.deletionsSeen;
    while (pending?.cancelled === 'unloaded') {
      await pending.promise.catch(() => undefined);
      if (this.deletedSince(version, mark)) throw deletedWhileLoading(version);
      pending = this.loading.get(version.id);
    }
    if (!pending) {
      const refusal = options.despiteBackoff ? undefined : this.backoff.refusal(version);
      if (refusal) throw refusal; // answered at once, waiting for no load: not a miss
      pending = this.startLoad(version);
    }
    if (options.request !== false) this.counters.count(this.counters.of(version.id), version.tenantId, 'misses');
    pending.waiters++;
    const entry = await pending.promise;
    return this.lease(entry);
  }

  private startLoad(version: ServableVersion): PendingLoad {
    const pending: PendingLoad = { version, waiters: 0, startedAt: this.now(), promise: Promise.resolve(null as unknown as SessionEntry) };
    pending.promise = this.loadEntry(version, pending);
    this.loading.set(version.id, pending);
    return pending;
  }

  private async loadEntry(version: ServableVersion, pending: PendingLoad): Promise<SessionEntry> {
    const stats = this.counters.of(version.id);
    let handle: SessionHandle;
    let sizeBytes: number;
    try {
      const artifact = await this.locate(version);
      sizeBytes = this.estimate(artifact);
      pending.sizeBytes = sizeBytes;
      this.checkFitsCache(version, sizeBytes);
      if (pending.cancelled === 'deleted') throw deletedWhileLoading(version); // while its file was looked up
      await this.takeRoomToLoad(pending, sizeBytes);
      // The runtime is told the estimate from the file alone and answers what the graph adds to it.
      const fileBased = estimateSessionBytes(artifact.bytes, artifact.kind);
      handle = await this.runtime.load(version.id, artifact.path, fileBased, artifact.sha256);
      // The session counts what the worker found (room is made for it as it goes in), and the next load reserves it.
      sizeBytes = fileBased + (handle.extraBytes ?? 0);
      if (artifact.sha256 && handle.extraBytes) this.extraByContent.set(artifact.sha256, handle.extraBytes);
    } catch (error) {
      this.endLoad(pending);
      this.startWaitingLoads();
      if (error instanceof ServingError && (error.code === ServingErrorCode.ModelTooLarge || error.code === ServingErrorCode.VersionNotFound)) throw error;
      // Deleted while it loaded: gone, not failed (its failure, recorded now, would outlive the deletion that forgot its others).
      if (pending.cancelled === 'deleted') throw deletedWhileLoading(version);
      this.counters.count(stats, version.tenantId, 'loadFailures');
      throw this.backoff.failed(version, error);
    }
    // Synchronously from here on: no new waiter can join once refs is counted.
    this.endLoad(pending);
    this.counters.count(stats, version.tenantId, 'loads');
    const roomAt = pending.roomAt ?? pending.startedAt;
    servingHookMetrics.modelLoaded((this.now() - roomAt) / 1000);
    this.backoff.loaded(version.id);
    const now = this.now();
    const entry: SessionEntry = {
      key: version.id,
      tenantId: version.tenantId,
      model: version.model,
      version: version.version,
      sizeBytes,
      handle,
      stats,
      loadedAt: now,
      loadMs: now - roomAt, // the load itself, not its wait for room
      state: SessionState.Ready,
      pinned: false,
      refs: pending.waiters, // every waiter holds it from here, before anything can evict it
      batchable: version.batchable,
      lastUsedAt: now,
    };
    if (pending.cancelled) {
      entry.withdrawn = pending.cancelled;
      this.retire(entry);
    } else this.admit(entry);
    this.startWaitingLoads(); // only now: the room it held is counted as the session's
    return entry;
  }

  /**
   * Makes room for a load before it starts, counting the loads already under way as if they were
   * in: evicts least recently used sessions for it, and while it does not fit beside the other
   * loads (a burst over more cold models than the cache holds) waits for them to finish. Loading
   * everything at once and evicting afterwards held a whole burst's sessions.
   */
  private takeRoomToLoad(pending: PendingLoad, sizeBytes: number): Promise<void> {
    const started = new Promise<void>((start, fail) => {
      pending.waitingForRoom = { tenantId: pending.version.tenantId, pending, sizeBytes, since: this.now(), start, fail };
      this.roomQueue.push(pending.waitingForRoom);
    });
    this.startWaitingLoads();
    return started;
  }

  /**
   * Starts the waiting loads that fit: those of tenants within their share first, then the
   * others, oldest first. One that does not fit the cache stops the others behind it (so a big
   * model is not passed over for ever); one of a tenant past its share that could only fit by
   * evicting tenants within theirs waits for its own loads, and lets other tenants' go ahead.
   */
  private startWaitingLoads(): void {
    const tenantsFull = new Set<string>();
    for (let next = this.nextWaitingLoad(tenantsFull); next; next = this.nextWaitingLoad(tenantsFull)) {
      let room: RoomForLoad;
      try {
        room = this.residents.makeRoom(next.tenantId, { bytes: next.sizeBytes, models: 1 }, 'or-wait');
      } catch (error) {
        this.leaveQueue(next).fail(error as Error); // its load fails; the others go on
        continue;
      }
      if (room === 'cache-full') return;
      if (room === 'tenant-full') tenantsFull.add(next.tenantId);
      else {
        const { pending } = this.leaveQueue(next);
        pending.holdsRoom = true;
        pending.roomAt = this.now();
        this.occupancy.countLoad(next.tenantId, next.sizeBytes, 1);
        next.start();
      }
    }
  }

  /** The oldest waiting load of a tenant within its share, else the oldest of all (tenants in `passedOver` aside). */
  private nextWaitingLoad(passedOver: ReadonlySet<string>): WaitingLoad | undefined {
    const pastShare = this.roomQueue.heads().filter((head) => !passedOver.has(head.tenantId) && this.occupancy.isPastShare(head.tenantId, { bytes: head.sizeBytes, models: 1 }));
    if (pastShare.length === 0) return this.roomQueue.oldest(passedOver);
    return this.roomQueue.oldest(new Set([...passedOver, ...pastShare.map((head) => head.tenantId)])) ?? this.roomQueue.oldest(passedOver);
  }

  /** Every wait for room ends here, whether the load then starts or fails (deleted, its room not computable): each is timed. */
  private leaveQueue(waiting: WaitingLoad): WaitingLoad {
    this.roomQueue.remove(waiting);
    waiting.pending.waitingForRoom = undefined;
    servingHookMetrics.loadWaited((this.now() - waiting.since) / 1000);
    return waiting;
  }

  /** The fraction of both bounds a tenant keeps when the cache is full (its `cacheShare`). */
  shareOf(tenantId: string): number {
    return this.occupancy.shareOf(tenantId);
  }

  /** A load is over (loaded or failed): the room it held goes back (to the session, when loaded). */
  private endLoad(pending: PendingLoad): void {
    this.loading.delete(pending.version.id);
    if (pending.waitingForRoom) this.leaveQueue(pending.waitingForRoom);
    if (!pending.holdsRoom) return;
    pending.holdsRoom = false;
    this.occupancy.countLoad(pending.version.tenantId, pending.sizeBytes ?? 0, -1);
  }

  private pin(entry: SessionEntry): void {
    if (entry.pinned || entry.withdrawn) return; // an unload that came while it loaded has the last word
    this.residents.assertPinRoom(entry.tenantId, entry.sizeBytes);
    if (entry.state === SessionState.Unloading) {
      // Evicted while we held it but not yet released: take it back.
      this.retiring.delete(entry);
      if (this.draining.get(entry.key) === entry) this.draining.delete(entry.key);
      entry.state = SessionState.Ready;
    }
    this.residents.pin(entry);
  }

  private unpin(entry: SessionEntry): void {
    if (!entry.pinned) return;
    this.residents.unpin(entry);
    this.startWaitingLoads(); // it can be evicted now
  }

  private evicted(entry: SessionEntry): void {
    this.counters.count(entry.stats, entry.tenantId, 'evictions');
    this.retire(entry);
    if (entry.refs > 0 && !entry.lost) this.draining.set(entry.key, entry);
  }

  private retire(entry: SessionEntry): void {
    entry.state = SessionState.Unloading;
    if (entry.refs === 0) this.releaseSession(entry);
    else this.retiring.add(entry);
  }

  private releaseSession(entry: SessionEntry): void {
    this.retiring.delete(entry);
    if (this.draining.get(entry.key) === entry) this.draining.delete(entry.key);
    if (!entry.lost) this.runtime.unload(entry.handle);
  }

  private lease(entry: SessionEntry): SessionLease {
    return new SessionLease(entry, (e) => {
      e.refs--;
      if (e.refs === 0 && e.state === SessionState.Unloading) this.releaseSession(e);
    });
  }

  private forgetLost(keys: string[]): void {
    for (const key of keys) {
      const entry = this.residents.peek(key);
      if (!entry) continue;
      entry.lost = true;
      this.residents.remove(entry);
      this.retire(entry);
    }
    for (const entry of this.retiring) if (keys.includes(entry.key)) entry.lost = true;
    for (const key of keys) this.draining.delete(key);
    this.startWaitingLoads();
  }

}

function deletedWhileLoading(version: ServableVersion): ServingError {
  return new ServingError(ServingErrorCode.VersionNotFound, `Model '${version.model}' version ${version.version} was deleted while it was loading`, {
    model: version.model,
    version: version.version,
  });
}

function modelKey(v: { tenantId: string; model: string }): string {
  return `${v.tenantId}\u0000${v.model}`;
}

function versionKey(v: { tenantId: string; model: string; version: number }): string {
  return `${modelKey(v)}\u0000${v.version}`;
}
