import { servingHookMetrics } from '../observability/metrics/hook-metrics';
import { SessionCache } from './session-cache';
import { SessionState } from './session-entry';
import { estimateSessionBytes } from './session-footprint';
import { fakeVersion, FakeRuntime, flushPromises } from './testing/fake-runtime';

const KIB = 1024;

describe('SessionCache', () => {
  let runtime: FakeRuntime;
  let now: number;
  /** Each fake artifact is 1 KiB: estimated 128 + 2 KiB per session. */
  const sessionBytes = estimateSessionBytes(KIB);
  const make = (maxModels: number, maxBytes = 1024 * 1024 * 1024) =>
    new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels, maxBytes, retryBaseMs: 1000, now: () => now });

  beforeEach(() => {
    runtime = new FakeRuntime();
    now = 1_000_000;
  });

  it('loads a cold model exactly once for concurrent requests', async () => {
    const cache = make(10);
    runtime.holdLoads = true;
    const v = fakeVersion('a');
    const leases = Array.from({ length: 50 }, () => cache.acquire(v));
    await flushPromises();
    runtime.openGates();
    const held = await Promise.all(leases);
    expect(runtime.loads).toEqual(['a']);
    expect(held.every((l) => l.entry === held[0].entry)).toBe(true);
    expect(held[0].entry.refs).toBe(50);
    expect(cache.snapshot(null).totals).toMatchObject({ misses: 50, loads: 1, hits: 0 });
    held.forEach((l) => l.release());
    expect(held[0].entry.refs).toBe(0);
    const hit = cache.acquire(v);
    expect(hit).not.toBeInstanceOf(Promise);
  });

  it('counts what a load finds a session holds beyond its estimate, and reserves it for the next load of the same file', async () => {
    // Room for three sessions as estimated; the worker finds each of "wide" holds one more.
    const cache = new SessionCache(runtime, async (v) => ({ path: '/fake', bytes: KIB, sha256: v.modelSha256 }), { maxModels: 10, maxBytes: 3 * sessionBytes, now: () => now });
    runtime.extraBytes.set('wide', sessionBytes);
    for (const id of ['a', 'b']) (await cache.acquire(fakeVersion(id))).release();
    const wide = fakeVersion('wide', { modelSha256: 'w'.repeat(64) });
    (await cache.acquire(wide)).release();
    expect(cache.usage()).toMatchObject({ bytes: 3 * sessionBytes, models: 2 }); // "a" went to make room for what "wide" holds
    expect(runtime.unloads).toEqual(['a']);
    expect(cache.snapshot(null).models.find((m) => m.model === 'model-wide')?.sizeBytes).toBe(2 * sessionBytes);

    // Unloaded, then loaded again beside two others: its room (two sessions' worth, not one) is taken before the load starts.
    cache.unload(wide.tenantId, wide.model);
    (await cache.acquire(fakeVersion('c'))).release();
    runtime.holdLoads = true;
    const again = cache.acquire(wide);
    await flushPromises();
    expect(cache.usage().loading).toEqual({ bytes: 2 * sessionBytes, models: 1 });
    expect(runtime.unloads).toEqual(['a', 'wide', 'b']);
    runtime.openGates();
    (await again).release();
  });

  it('evicts the least recently used model past MMS_CACHE_MAX_MODELS and releases it', async () => {
    const cache = make(2);
    for (const id of ['a', 'b']) (await cache.acquire(fakeVersion(id))).release();
    (cache.acquire(fakeVersion('a')) as { release(): void }).release(); // a is now more recent than b
    (await cache.acquire(fakeVersion('c'))).release();
    expect(runtime.unloads).toEqual(['b']);
    expect(cache.usage().models).toBe(2);
    expect(cache.snapshot(null).models.map((m) => m.model)).toEqual(['model-a', 'model-c']);
    expect(cache.snapshot(null).totals.evictions).toBe(1);
  });

  it('lets speculative loads (batch warming) use only free room in the cache and in a share', async () => {
    const cache = make(10);
    for (let i = 0; i < 8; i++) (await cache.acquire(fakeVersion(`m${i}`))).release();
    expect(cache.hasRoomToWarm('t')).toBe(true);
    (await cache.acquire(fakeVersion('m8'))).release();
    expect(cache.hasRoomToWarm('t')).toBe(false); // 9 of 10: the last tenth stays free
    const shared = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 100, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => 0.1 });
    for (let i = 0; i < 8; i++) (await shared.acquire(fakeVersion(`s${i}`))).release();
    expect(shared.hasRoomToWarm(fakeVersion('x').tenantId)).toBe(true);
    (await shared.acquire(fakeVersion('s8'))).release();
    expect(shared.hasRoomToWarm(fakeVersion('x').tenantId)).toBe(false); // 9 of its 10
  });

  it('counts warms still loading against the free room, by bytes as well as by count', async () => {
    // Room for ten sessions by bytes, a thousand by count: only the bytes bound can stop warming.
    const cache = make(1000, 10 * sessionBytes);
    runtime.holdLoads = true;
    const warms: Array<Promise<unknown>> = [];
    while (cache.hasRoomToWarm(fakeVersion('x').tenantId)) {
      warms.push(cache.load(fakeVersion(`w${warms.length}`)));
      await flushPromises(); // its file located: its size counts from here
    }
    expect(warms).toHaveLength(9); // 90 %: the last tenth stays free, though nothing is loaded yet
    runtime.openGates();
    await Promise.all(warms);
    expect(cache.snapshot(null).totals.evictions).toBe(0);
    expect(cache.hasRoomToWarm(fakeVersion('x').tenantId)).toBe(false);

    // Within a tenant's share too: a tenant with a tenth of the cache warms nine at most.
    const shared = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 100, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => 0.1 });
    let admitted = 0;
    for (; shared.hasRoomToWarm(fakeVersion('x').tenantId); admitted++) void shared.load(fakeVersion(`s${admitted}`));
    expect(admitted).toBe(9);
    await flushPromises();
    runtime.openGates();
  });

  describe("a tenant's share of the cache", () => {
    const ofTenant = (tenantId: string, id: string) => fakeVersion(id, { tenantId, model: `model-${id}` });
    const makeShared = (maxModels: number, share: number) =>
      new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => share });

    it("makes a busy tenant evict its own models, not everybody else's", async () => {
      const cache = makeShared(10, 0.5);
      for (const id of ['q1', 'q2', 'q3']) (await cache.acquire(ofTenant('quiet', id))).release();
      for (let i = 0; i < 20; i++) (await cache.acquire(ofTenant('busy', `b${i}`))).release();
      const held = cache.snapshot(null).models;
      expect(held.filter((m) => m.tenantId === 'quiet').map((m) => m.model)).toEqual(['model-q1', 'model-q2', 'model-q3']);
      expect(held.filter((m) => m.tenantId === 'busy')).toHaveLength(7); // past its half: the room quiet does not use
      expect(cache.snapshot('busy').totals.evictions).toBe(13);
      expect(cache.snapshot('quiet').totals.evictions).toBe(0);
      // Quiet, within its share, gets room back from busy, past its share.
      for (const id of ['q4', 'q5']) (await cache.acquire(ofTenant('quiet', id))).release();
      expect(cache.snapshot('quiet').models).toHaveLength(5);
      expect(cache.snapshot('busy').models).toHaveLength(5);
      expect(cache.snapshot('quiet').totals.evictions).toBe(0);
    });

    it("uses free room beyond a share: another tenant's one idle session does not halve a busy tenant's cache", async () => {
      const cache = makeShared(10, 0.5);
      (await cache.acquire(ofTenant('idle', 'i1'))).release();
      for (let round = 0; round < 5; round++) for (let i = 0; i < 8; i++) (await cache.acquire(ofTenant('busy', `b${i}`))).release();
      expect(cache.snapshot('busy').totals).toMatchObject({ loads: 8, evictions: 0 });
      expect(cache.usage().models).toBe(9);
    });

    it('lets a tenant alone use the whole cache', async () => {
      const cache = makeShared(10, 0.5);
      for (let i = 0; i < 10; i++) (await cache.acquire(ofTenant('only', `o${i}`))).release();
      expect(cache.usage().models).toBe(10);
    });
  });

  it('holds the byte bound', async () => {
    const cache = make(100, 3 * sessionBytes);
    for (const id of ['a', 'b', 'c', 'd', 'e']) (await cache.acquire(fakeVersion(id))).release();
    expect(cache.usage().bytes).toBeLessThanOrEqual(3 * sessionBytes);
    expect(runtime.unloads).toEqual(['a', 'b']);
  });

  describe('loads in a burst over more cold models than the cache holds', () => {
    /** Ten requests, one per cold model, each letting its session go once answered. */
    const burst = (cache: SessionCache, ids: string[]) => ids.map((id) => Promise.resolve(cache.acquire(fakeVersion(id))).then((lease) => lease.release()));
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);

    it.each([
      ['MMS_CACHE_MAX_MODELS', () => make(3)],
      ['MMS_CACHE_MAX_BYTES', () => make(1000, 3 * sessionBytes)],
    ])('load no more sessions at once than %s holds, in arrival order', async (_bound, build) => {
      const cache = build();
      runtime.holdLoads = true;
      const answered = burst(cache, ids);
      await flushPromises();
      expect(runtime.loads).toEqual(['m0', 'm1', 'm2']); // the other seven wait for room
      expect(cache.usage()).toMatchObject({ models: 0, loading: { models: 3 }, waitingLoads: 7 });
      const waiting = cache.snapshot(null).models.filter((m) => m.waitingForRoom);
      expect(waiting.map((m) => m.model)).toEqual(ids.slice(3).map((id) => `model-${id}`));
      expect(waiting.every((m) => m.state === SessionState.Loading)).toBe(true);
      let peak = runtime.live;
      for (let next = 0; next < runtime.loads.length; next++) {
        now += 100;
        runtime.openGate(runtime.loads[next]);
        await flushPromises();
        peak = Math.max(peak, runtime.live);
        expect(cache.usage().models + cache.usage().loading.models).toBeLessThanOrEqual(3);
      }
      await Promise.all(answered);
      expect(peak).toBe(3);
      expect(runtime.loads).toEqual(ids); // each once, first come first served
      expect(cache.usage()).toMatchObject({ models: 3, loading: { models: 0, bytes: 0 }, waitingLoads: 0 });
      expect(cache.snapshot(null).totals).toMatchObject({ loads: 10, evictions: 7 });
      // Each of the last three got its room when the load three before it ended, 300 ms before its own
      // end: its load time, without the 700 ms it waited for room.
      expect(cache.snapshot(null).models.map((m) => m.loadMs)).toEqual([300, 300, 300]);
    });

    it('start the next waiting load when one fails', async () => {
      const cache = make(1);
      runtime.holdLoads = true;
      runtime.failing.add('a');
      const failed = Promise.resolve(cache.acquire(fakeVersion('a'))).catch((error: { code: string }) => error.code);
      const served = burst(cache, ['b']);
      await flushPromises();
      expect(runtime.loads).toEqual(['a']);
      runtime.openGate('a');
      expect(await failed).toBe('MODEL_LOAD_FAILED');
      await flushPromises();
      expect(runtime.loads).toEqual(['a', 'b']);
      runtime.openGate('b');
      await Promise.all(served);
      expect(cache.usage()).toMatchObject({ models: 1, loading: { models: 0 }, waitingLoads: 0 });
    });

    /** A cache of two, both pinned, and a request each for cold models c and d: c loads (alone), d waits. */
    const pinnedFullThenBurst = async () => {
      const cache = make(2);
      for (const id of ['p1', 'p2']) await cache.load(fakeVersion(id), { pin: true });
      runtime.holdLoads = true;
      const answered = burst(cache, ['c', 'd']);
      await flushPromises();
      expect(runtime.loads).toEqual(['p1', 'p2', 'c']); // a lone load goes ahead: waiting would free nothing
      return { cache, answered };
    };

    it('load one at a time when pinned sessions fill the cache, each still answering its requests', async () => {
      const { cache, answered } = await pinnedFullThenBurst();
      runtime.openGate('c');
      await flushPromises();
      expect(runtime.loads).toEqual(['p1', 'p2', 'c', 'd']);
      expect(runtime.unloads).toEqual(['c']);
      runtime.openGate('d');
      await Promise.all(answered);
      expect(runtime.unloads).toEqual(['c', 'd']);
      expect(cache.usage()).toMatchObject({ models: 2, pinnedModels: 2, loading: { models: 0 } });
    });

    it("let another tenant's load start as soon as one of a busy tenant's loads ends, though it holds no session yet", async () => {
      const cache = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 4, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => 0.5 });
      runtime.holdLoads = true;
      const busy = ids.map((id) => Promise.resolve(cache.acquire(fakeVersion(id, { tenantId: 'busy' }))).then((lease) => lease.release()));
      await flushPromises();
      expect(runtime.loads).toEqual(['m0', 'm1', 'm2', 'm3']); // alone, it may use the whole cache
      const quiet = Promise.resolve(cache.acquire(fakeVersion('q', { tenantId: 'quiet' }))).then((lease) => lease.release());
      await flushPromises();
      runtime.openGate('m0');
      await flushPromises();
      expect(runtime.loads).toEqual(['m0', 'm1', 'm2', 'm3', 'q']); // before busy's six other waiting loads
      runtime.openGate('q');
      await quiet;
      for (let next = 1; next < runtime.loads.length; next++) {
        runtime.openGate(runtime.loads[next]);
        await flushPromises();
      }
      await Promise.all(busy);
      expect(cache.snapshot('quiet').models.map((m) => [m.model, m.state])).toEqual([['model-q', 'ready']]);
      expect(cache.snapshot('busy').models).toHaveLength(3); // the room quiet does not use
    });

    it('evict nothing for a load that has to wait anyway', async () => {
      const maxBytes = 10 * sessionBytes;
      const bigFile = Math.floor((9.5 * sessionBytes - 128 * KIB) / 2); // fits the cache alone, not beside another load
      const cache = new SessionCache(runtime, async (v) => ({ path: '/fake', bytes: v.id === 'big' ? bigFile : KIB }), { maxModels: 100, maxBytes, now: () => now });
      for (const id of ['h1', 'h2', 'h3']) (await cache.acquire(fakeVersion(id))).release();
      runtime.holdLoads = true;
      const small = burst(cache, ['l']);
      const big = burst(cache, ['big']);
      await flushPromises();
      expect(runtime.loads).toEqual(['h1', 'h2', 'h3', 'l']);
      expect(runtime.unloads).toEqual([]); // the hot sessions stay while the big load waits
      expect(cache.acquire(fakeVersion('h1'))).not.toBeInstanceOf(Promise);
      runtime.openGate('l');
      await Promise.all(small);
      await flushPromises();
      expect(runtime.loads).toEqual(['h1', 'h2', 'h3', 'l', 'big']);
      runtime.openGate('big');
      await Promise.all(big);
      expect(cache.usage().bytes).toBeLessThanOrEqual(maxBytes);
    });

    it('answer VERSION_NOT_FOUND at once for a version deleted while its load waits, and give its turn to the next', async () => {
      const cache = make(1);
      runtime.holdLoads = true;
      const served = burst(cache, ['a']);
      const deleted = Promise.resolve(cache.acquire(fakeVersion('d'))).catch((error: { code: string }) => error.code);
      const next = burst(cache, ['e']);
      await flushPromises();
      cache.onRegistryChange({ tenantId: 't1', model: 'model-d', kind: 'version-deleted', version: 1 });
      expect(await deleted).toBe('VERSION_NOT_FOUND');
      runtime.openGate('a');
      await Promise.all(served);
      await flushPromises();
      expect(runtime.loads).toEqual(['a', 'e']);
      runtime.openGate('e');
      await Promise.all(next);
      expect(cache.snapshot(null).models.find((m) => m.model === 'model-d')).toBeUndefined(); // not a failed load either
    });

    it('time each wait for room, of loads that then start and of loads that fail while waiting', async () => {
      const waited = jest.spyOn(servingHookMetrics, 'loadWaited');
      const loaded = jest.spyOn(servingHookMetrics, 'modelLoaded');
      try {
        const cache = make(1);
        runtime.holdLoads = true;
        const served = burst(cache, ['a', 'b']);
        const deleted = Promise.resolve(cache.acquire(fakeVersion('d'))).catch((error: { code: string }) => error.code);
        await flushPromises();
        expect(waited.mock.calls).toEqual([[0]]); // a had room at once
        now += 250;
        cache.onRegistryChange({ tenantId: 't1', model: 'model-d', kind: 'version-deleted', version: 1 });
        expect(await deleted).toBe('VERSION_NOT_FOUND');
        expect(waited.mock.calls).toEqual([[0], [0.25]]); // d's wait, though it never loads
        now += 250;
        runtime.openGate('a');
        await flushPromises();
        expect(waited.mock.calls).toEqual([[0], [0.25], [0.5]]); // b's
        runtime.openGate('b');
        await Promise.all(served);
        expect(loaded.mock.calls).toEqual([[0.5], [0]]); // the loads themselves, without the waits
      } finally {
        waited.mockRestore();
        loaded.mockRestore();
      }
    });

    it('answer VERSION_NOT_FOUND for a version deleted while its file was looked up, evicting nothing', async () => {
      let found: () => void = () => undefined;
      const cache = new SessionCache(
        runtime,
        async (v) => {
          if (v.id === 'd') await new Promise<void>((resolve) => (found = resolve));
          return { path: '/fake', bytes: KIB };
        },
        { maxModels: 1, maxBytes: 1024 * 1024 * 1024, now: () => now },
      );
      await Promise.all(burst(cache, ['hot']));
      const deleted = Promise.resolve(cache.acquire(fakeVersion('d'))).catch((error: { code: string }) => error.code);
      await flushPromises();
      cache.onRegistryChange({ tenantId: 't1', model: 'model-d', kind: 'version-deleted', version: 1 });
      found();
      expect(await deleted).toBe('VERSION_NOT_FOUND');
      expect(runtime.loads).toEqual(['hot']);
      expect(runtime.unloads).toEqual([]);
    });

    it('give room an unload frees to a waiting load at once', async () => {
      const { cache, answered } = await pinnedFullThenBurst();
      cache.unload('t1', 'model-p1');
      cache.unload('t1', 'model-p2');
      await flushPromises();
      expect(runtime.loads).toEqual(['p1', 'p2', 'c', 'd']); // without waiting for c
      runtime.openGates();
      await Promise.all(answered);
    });

    it('take a share that cannot be read as the whole cache, and go on', async () => {
      const shareOf = (tenantId: string) => {
        if (tenantId === 'odd') throw new Error('no limits for this tenant');
        return 0.5;
      };
      const cache = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 1, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf });
      runtime.holdLoads = true;
      const answered = [...burst(cache, ['a']), Promise.resolve(cache.acquire(fakeVersion('o', { tenantId: 'odd' }))).then((lease) => lease.release()), ...burst(cache, ['b'])];
      for (let next = 0; next < 3; next++) {
        await flushPromises();
        runtime.openGates();
      }
      await Promise.all(answered);
      expect(runtime.loads).toEqual(['a', 'o', 'b']);
      expect(cache.usage()).toMatchObject({ models: 1, loading: { models: 0, bytes: 0 }, waitingLoads: 0 });
    });

    /** A file whose session is estimated at `units` small sessions. */
    const fileOf = (units: number) => Math.floor((units * sessionBytes - 128 * KIB) / 2);
    const sized = (units: Record<string, number>, options: Partial<ConstructorParameters<typeof SessionCache>[2]> = {}) =>
      new SessionCache(runtime, async (v) => ({ path: '/fake', bytes: units[v.id] ? fileOf(units[v.id]) : KIB }), { maxModels: 100, maxBytes: 10 * sessionBytes, now: () => now, ...options });
    const ofTenant = (tenantId: string, ids: string[]) => ids.map((id) => Promise.resolve(cache_.acquire(fakeVersion(id, { tenantId }))).then((lease) => lease.release()));
    let cache_: SessionCache;

    it("give a model bigger than its tenant's byte share its turn among other tenants' loads", async () => {
      cache_ = sized({ huge: 6 }, { shareOf: () => 0.5 });
      runtime.holdLoads = true;
      const first = [...ofTenant('b', ['b1', 'b2', 'b3']), ...ofTenant('c', ['c1', 'c2', 'c3'])];
      await flushPromises();
      const huge = ofTenant('a', ['huge']); // 6 of 10 beside 6 loading: waits
      await flushPromises();
      const later = ofTenant('c', ['c4', 'c5']); // c within its share, but after huge
      await flushPromises();
      for (const id of ['b1', 'b2', 'b3', 'c1', 'c2', 'c3']) {
        runtime.openGate(id);
        await flushPromises();
      }
      await Promise.all(first);
      runtime.openGates();
      await flushPromises();
      runtime.openGates();
      await Promise.all([...huge, ...later]);
      expect(runtime.loads.indexOf('huge')).toBeLessThan(runtime.loads.indexOf('c4'));
    });

    it("wait for the loads of a tenant past its share rather than take a tenant within its share's sessions", async () => {
      cache_ = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 4, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => 0.5 });
      await Promise.all(ofTenant('c', ['c1']));
      runtime.holdLoads = true;
      const busy = ofTenant('b', ['b0', 'b1', 'b2']); // the free room, past b's half
      await flushPromises();
      const quiet = ofTenant('q', ['q1']);
      await flushPromises();
      expect(runtime.loads).toEqual(['c1', 'b0', 'b1', 'b2']); // q1 waits for b's room...
      runtime.openGate('b0');
      await flushPromises();
      expect(runtime.loads).toEqual(['c1', 'b0', 'b1', 'b2', 'q1']); // ...and gets b0's, not c1's
      runtime.openGates();
      await Promise.all([...busy, ...quiet]);
      expect(runtime.unloads).not.toContain('c1');
      expect(cache_.snapshot('c').models.map((m) => m.model)).toEqual(['model-c1']);
    });

    it('let a lone load that cannot fit beside pinned sessions evict nothing: it serves its requests and goes', async () => {
      cache_ = sized({ p1: 4, p2: 4, big: 3 });
      for (const id of ['p1', 'p2']) await cache_.load(fakeVersion(id), { pin: true });
      await Promise.all(burst(cache_, ['h']));
      await Promise.all(burst(cache_, ['big']));
      expect(runtime.unloads).toEqual(['big']);
      expect(cache_.snapshot(null).models.map((m) => [m.model, m.state])).toEqual([
        ['model-h', 'ready'],
        ['model-p1', 'ready'],
        ['model-p2', 'ready'],
      ]);
    });

    it("serve a session evicted while in use where it is, rather than take it back into the cache at a tenant within its share's expense", async () => {
      cache_ = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 4, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => 0.5 });
      await Promise.all(ofTenant('q', ['q1', 'q2']));
      const b1 = await cache_.acquire(fakeVersion('b1', { tenantId: 'b' })); // held: a request still runs on it
      runtime.holdLoads = true;
      const loads = ofTenant('b', ['b2', 'b3']); // b3's room comes from b1, b past its half: b1 drains
      await flushPromises();
      expect(b1.entry.state).toBe(SessionState.Unloading);
      const again = cache_.acquire(fakeVersion('b1', { tenantId: 'b' }));
      expect(again).not.toBeInstanceOf(Promise); // no new load...
      expect((again as { entry: unknown }).entry).toBe(b1.entry);
      expect(b1.entry.state).toBe(SessionState.Unloading); // ...and not back in the cache, which would evict q1
      expect(cache_.snapshot('q').models.map((m) => m.state)).toEqual(['ready', 'ready']);
      (again as { release(): void }).release();
      b1.release();
      expect(runtime.unloads).toEqual(['b1']);
      runtime.openGates();
      await Promise.all(loads);
      expect(cache_.snapshot('q').totals.evictions).toBe(0);
    });

    it("take a tenant's room from its own sessions, not other tenants'", async () => {
      const cache = new SessionCache(runtime, async () => ({ path: '/fake', bytes: KIB }), { maxModels: 4, maxBytes: 1024 * 1024 * 1024, now: () => now, shareOf: () => 0.5 });
      for (const id of ['q1', 'q2']) (await cache.acquire(fakeVersion(id, { tenantId: 'quiet' }))).release();
      runtime.holdLoads = true;
      const answered = ids.map((id) => Promise.resolve(cache.acquire(fakeVersion(id, { tenantId: 'busy' }))).then((lease) => lease.release()));
      await flushPromises();
      expect(runtime.loads).toEqual(['q1', 'q2', 'm0', 'm1']); // its half of four
      for (let next = 2; next < runtime.loads.length; next++) {
        runtime.openGate(runtime.loads[next]);
        await flushPromises();
      }
      await Promise.all(answered);
      expect(runtime.loads).toHaveLength(12);
      expect(cache.snapshot('quiet').totals.evictions).toBe(0);
      expect(cache.snapshot('quiet').models.map((m) => m.model)).toEqual(['model-q1', 'model-q2']);
    });
  });

  it('never releases a session while a request holds it', async () => {
    const cache = make(1);
    const held = await cache.acquire(fakeVersion('a'));
    (await cache.acquire(fakeVersion('b'))).release(); // evicts a from the cache...
    expect(held.entry.state).toBe(SessionState.Unloading);
    expect(runtime.unloads).toEqual([]); // ...but a runs on
    held.release();
    expect(runtime.unloads).toEqual(['a']);
  });

  it('shares a session evicted while requests still run on it, instead of loading it again', async () => {
    // The cache is full of a pinned model: b is evicted the moment its load completes.
    const cache = make(1);
    await cache.load(fakeVersion('p'), { pin: true });
    runtime.holdLoads = true;
    const first = Array.from({ length: 20 }, () => cache.acquire(fakeVersion('b')));
    await flushPromises();
    runtime.openGates();
    const held = await Promise.all(first);
    expect(held[0].entry.state).toBe(SessionState.Unloading);
    // Requests arriving while it drains share it: a hit, no second load.
    const later = cache.acquire(fakeVersion('b'));
    expect(later).not.toBeInstanceOf(Promise);
    expect((later as { entry: unknown }).entry).toBe(held[0].entry);
    expect(runtime.loads).toEqual(['p', 'b']);
    for (const lease of [...held, later as { release(): void }]) lease.release();
    expect(runtime.unloads).toEqual(['b']);
    // Released: the next request loads it again.
    runtime.holdLoads = false;
    expect(cache.acquire(fakeVersion('b'))).toBeInstanceOf(Promise);
  });

  it('takes a session evicted while in use back into the cache, within the bounds, when it is asked for again', async () => {
    const cache = make(2);
    const held = await cache.acquire(fakeVersion('a'));
    for (const id of ['b', 'c']) (await cache.acquire(fakeVersion(id))).release(); // a evicted, still held
    expect(held.entry.state).toBe(SessionState.Unloading);
    const again = cache.acquire(fakeVersion('a')) as { entry: { state: SessionState }; release(): void };
    expect(again.entry).toBe(held.entry);
    expect(again.entry.state).toBe(SessionState.Ready);
    expect(cache.usage().models).toBe(2); // counted again; b, the least recent, made the room
    expect(runtime.unloads).toEqual(['b']);
    held.release();
    again.release();
    expect(runtime.unloads).toEqual(['b']); // a stays loaded: a prewarm or later request finds it
    expect(cache.acquire(fakeVersion('a'))).not.toBeInstanceOf(Promise);
    expect(runtime.loads).toEqual(['a', 'b', 'c']);
  });

  it('does not share a draining session after an unload of its version', async () => {
    const cache = make(1);
    const held = await cache.acquire(fakeVersion('a'));
    (await cache.acquire(fakeVersion('b'))).release(); // a is evicted, still held
    cache.unload(held.entry.tenantId, held.entry.model);
    await (cache.acquire(fakeVersion('a')) as Promise<{ release(): void }>).then((l) => l.release());
    expect(runtime.loads).toEqual(['a', 'b', 'a']);
    held.release();
  });

  it('answers MODEL_TOO_LARGE, not a pin limit, for a pin of a model bigger than the whole cache', async () => {
    const cache = make(10, sessionBytes - 1);
    await expect(cache.load(fakeVersion('huge'), { pin: true })).rejects.toMatchObject({ code: 'MODEL_TOO_LARGE' });
    expect(runtime.loads).toEqual([]);
  });

  it('refuses a pin that cannot fit before loading anything', async () => {
    const cache = make(1);
    await cache.load(fakeVersion('p'), { pin: true });
    await expect(cache.load(fakeVersion('q'), { pin: true })).rejects.toMatchObject({ code: 'PIN_LIMIT_EXCEEDED' });
    expect(runtime.loads).toEqual(['p']);
    expect(cache.snapshot(null).totals).toMatchObject({ loads: 1, evictions: 0 });
    const bytes = make(10, sessionBytes + 1);
    await bytes.load(fakeVersion('p2'), { pin: true });
    await expect(bytes.load(fakeVersion('q2'), { pin: true })).rejects.toMatchObject({ code: 'PIN_LIMIT_EXCEEDED' });
    expect(runtime.loads).toEqual(['p', 'p2']);
  });

  it('keeps pinned models through pressure, within the same bounds', async () => {
    const cache = make(2);
    await cache.load(fakeVersion('p'), { pin: true });
    for (const id of ['a', 'b', 'c']) (await cache.acquire(fakeVersion(id))).release();
    expect(runtime.unloads).toEqual(['a', 'b']);
    expect(cache.snapshot(null).models.map((m) => [m.model, m.pinned])).toEqual([
      ['model-c', false],
      ['model-p', true],
    ]);
    await expect(cache.load(fakeVersion('q'), { pin: true })).resolves.toMatchObject({ pinned: true });
    await expect(cache.load(fakeVersion('r'), { pin: true })).rejects.toMatchObject({ code: 'PIN_LIMIT_EXCEEDED' });
    await cache.load(fakeVersion('p'), { pin: false });
    expect(cache.usage().pinnedModels).toBe(1);
  });

  it('answers MODEL_LOAD_FAILED during the backoff, then retries and recovers', async () => {
    const cache = make(10);
    const v = fakeVersion('broken');
    runtime.failing.add('broken');
    await expect(cache.acquire(v)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { attempts: 1, retryAfterMs: 1000 } });
    await expect(cache.acquire(v)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    expect(runtime.loads).toEqual(['broken']); // not retried inside the backoff
    now += 1000;
    await expect(cache.acquire(v)).rejects.toMatchObject({ details: { attempts: 2, retryAfterMs: 2000 } });
    expect(cache.snapshot(null).models[0]).toMatchObject({ state: 'failed', error: 'cannot load broken' });
    runtime.failing.delete('broken');
    now += 2000;
    const lease = await cache.acquire(v);
    expect(lease.entry.state).toBe(SessionState.Ready);
    expect(runtime.loads).toEqual(['broken', 'broken', 'broken']);
    expect(cache.snapshot(null).models).toHaveLength(1);
  });

  it('tries a failed load again at once when the load is asked for explicitly, and lengthens the backoff if it fails', async () => {
    const cache = make(10);
    const v = fakeVersion('broken');
    runtime.failing.add('broken');
    await expect(cache.acquire(v)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { attempts: 1 } });
    await expect(cache.load(v)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { attempts: 2, retryAfterMs: 2000 } });
    expect(runtime.loads).toEqual(['broken', 'broken']);
    await expect(cache.acquire(v)).rejects.toMatchObject({ details: { attempts: 2 } }); // a request still waits out the backoff
    expect(runtime.loads).toHaveLength(2);
    runtime.failing.delete('broken');
    await expect(cache.load(v, { pin: true })).resolves.toMatchObject({ state: 'ready', pinned: true });
    expect(runtime.loads).toHaveLength(3);
  });

  it('forgets the failed loads of a deleted version or model, and only theirs', async () => {
    const cache = make(10);
    runtime.failing.add('a');
    runtime.failing.add('b');
    runtime.failing.add('c');
    await expect(cache.acquire(fakeVersion('a', { model: 'm', version: 1 }))).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    await expect(cache.acquire(fakeVersion('b', { model: 'm', version: 2 }))).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    await expect(cache.acquire(fakeVersion('c', { model: 'n', version: 1 }))).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    cache.onRegistryChange({ tenantId: 't1', model: 'm', kind: 'version-deleted', version: 1 });
    expect(cache.snapshot(null).models.map((m) => [m.model, m.version, m.state])).toEqual([['m', 2, 'failed'], ['n', 1, 'failed']]);
    cache.onRegistryChange({ tenantId: 't1', model: 'n', kind: 'model-deleted' });
    expect(cache.snapshot(null).models.map((m) => [m.model, m.version])).toEqual([['m', 2]]);
    cache.unload('t1', 'm'); // an unload is no deletion: the failure still stands
    expect(cache.snapshot(null).models).toHaveLength(1);
  });

  it('does not list as failed a version deleted while its load ran and then failed', async () => {
    const cache = make(10);
    runtime.holdLoads = true;
    runtime.failing.add('a');
    const loading = cache.acquire(fakeVersion('a', { model: 'm', version: 1 }));
    await flushPromises();
    cache.onRegistryChange({ tenantId: 't1', model: 'm', kind: 'version-deleted', version: 1 });
    runtime.openGates();
    await expect(loading).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    expect(cache.snapshot(null).models).toEqual([]);
  });

  it("reports a load failure's reason without the server's file paths", async () => {
    const cache = make(10);
    const v = fakeVersion('broken');
    runtime.failing.add('broken');
    runtime.failureMessages.set('broken', 'Load model from /srv/mms/store/sha256/9f/86d0 failed:Protobuf parsing failed.');
    const reason = 'Load model from <artifact> failed:Protobuf parsing failed.';
    await expect(cache.acquire(v)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', details: { reason } });
    expect(cache.snapshot(null).models[0]).toMatchObject({ state: 'failed', error: reason });
  });

  it('refuses a model larger than the whole cache without loading it', async () => {
    const cache = make(10, 2 * 1024 * 1024);
    const big = new SessionCache(runtime, async () => ({ path: '/fake', bytes: 4 * 1024 * 1024 }), cache.options);
    await expect(big.acquire(fakeVersion('huge'))).rejects.toMatchObject({ code: 'MODEL_TOO_LARGE' });
    expect(runtime.loads).toEqual([]);
  });

  it('unloads on request and when the registry deletes the version', async () => {
    const cache = make(10);
    (await cache.acquire(fakeVersion('a', { model: 'm', version: 1 }))).release();
    (await cache.acquire(fakeVersion('b', { model: 'm', version: 2 }))).release();
    cache.onRegistryChange({ tenantId: 't1', model: 'm', kind: 'version-deleted', version: 1 });
    expect(runtime.unloads).toEqual(['a']);
    expect(cache.unload('t1', 'm')).toEqual([2]);
    expect(cache.usage().models).toBe(0);
  });

  it('does not pin (or keep) a version deleted while the pin loaded it, and says it is gone', async () => {
    const cache = make(10);
    runtime.holdLoads = true;
    const v = fakeVersion('a', { model: 'm', version: 1 });
    const pinning = cache.load(v, { pin: true, mark: cache.deletionMark() });
    await flushPromises();
    cache.onRegistryChange({ tenantId: 't1', model: 'm', kind: 'model-deleted' });
    runtime.openGates();
    await expect(pinning).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND', message: "Model 'm' version 1 was deleted while it was loading" });
    expect(cache.snapshot(null).pinned).toBe(0);
    expect(cache.usage().models).toBe(0);
    expect(runtime.unloads).toEqual(['a']);
  });

  it('drops what a load brings in when the version was deleted between its resolution and the load (the notice came first)', async () => {
    const cache = make(10);
    const mark = cache.deletionMark(); // taken before resolving, as ServingService does
    cache.onRegistryChange({ tenantId: 't1', model: 'm', kind: 'version-deleted', version: 1 });
    await expect(cache.load(fakeVersion('a', { model: 'm', version: 1 }), { pin: true, mark })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    expect(cache.snapshot(null).pinned).toBe(0);
    expect(cache.usage().models).toBe(0);
    expect(runtime.unloads).toEqual(['a']);
    // Another version of the model, and a load resolved after the deletion, are not affected.
    await expect(cache.load(fakeVersion('b', { model: 'm', version: 2 }), { pin: true, mark })).resolves.toMatchObject({ pinned: true });
    await expect(cache.load(fakeVersion('c', { model: 'm', version: 1 }), { mark: cache.deletionMark() })).resolves.toMatchObject({ state: 'ready' });
  });

  it("keeps, and pins, a version loading while another model of the tenant is unloaded or deleted", async () => {
    const cache = make(10);
    runtime.holdLoads = true;
    const pin = cache.load(fakeVersion('a'), { pin: true, mark: cache.deletionMark() });
    await flushPromises();
    cache.unload('t1', 'model-b');
    cache.onRegistryChange({ tenantId: 't1', model: 'model-c', kind: 'version-deleted', version: 1 });
    cache.onRegistryChange({ tenantId: 't1', model: 'model-d', kind: 'model-deleted' });
    runtime.openGates();
    expect(await pin).toMatchObject({ model: 'model-a', state: SessionState.Ready, pinned: true });
    expect(runtime.unloads).toEqual([]);
  });

  it('does not pin a version an explicit unload took out while the pin loaded it', async () => {
    const cache = make(10);
    runtime.holdLoads = true;
    const pinning = cache.load(fakeVersion('a', { model: 'm', version: 1 }), { pin: true });
    await flushPromises();
    expect(cache.snapshot(null).models).toMatchObject([{ state: 'loading', sizeBytes: sessionBytes }]); // its estimate, once its file is found
    expect(cache.unload('t1', 'm')).toEqual([1]); // the load it withdrew
    runtime.openGates();
    expect(await pinning).toMatchObject({ pinned: false, state: 'unloading' });
    expect(cache.snapshot(null).pinned).toBe(0);
    expect(runtime.unloads).toEqual(['a']);
  });

  it('forgets sessions lost with a crashed worker without releasing them', async () => {
    const cache = make(10);
    (await cache.acquire(fakeVersion('a'))).release();
    runtime.loseSessions(['a']);
    expect(runtime.unloads).toEqual([]);
    expect(cache.usage().models).toBe(0);
    await cache.acquire(fakeVersion('a'));
    expect(runtime.loads).toEqual(['a', 'a']);
  });

  it("shows a tenant only its own sessions", async () => {
    const cache = make(10);
    (await cache.acquire(fakeVersion('a'))).release();
    (await cache.acquire(fakeVersion('b', { tenantId: 't2' }))).release();
    expect(cache.snapshot('t2').models.map((m) => m.model)).toEqual(['model-b']);
    expect(cache.snapshot('t2').totals.loads).toBe(1);
    expect(cache.snapshot(null).totals.loads).toBe(2);
  });
});
