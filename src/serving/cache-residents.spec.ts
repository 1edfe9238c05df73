import { CacheOccupancy } from './cache-occupancy';
import { CacheResidents } from './cache-residents';
import { zeroStats } from './cache-views';
import { SessionEntry, SessionState } from './session-entry';

describe('CacheResidents', () => {
  const bounds = { maxBytes: 1000, maxModels: 4 };
  let occupancy: CacheOccupancy;
  let residents: CacheResidents;
  let evicted: string[];
  const one = (bytes = 100) => ({ bytes, models: 1 });

  const session = (key: string, tenantId = 'a', sizeBytes = 100): SessionEntry => ({
    key,
    tenantId,
    model: key,
    version: 1,
    sizeBytes,
    handle: { key, worker: 0, incarnation: 0 },
    stats: zeroStats(),
    loadedAt: 0,
    loadMs: 0,
    state: SessionState.Ready,
    pinned: false,
    refs: 0,
    batchable: true,
    lastUsedAt: 0,
  });

  const build = (shareOf?: (tenantId: string) => number) => {
    occupancy = new CacheOccupancy(bounds, shareOf);
    evicted = [];
    residents = new CacheResidents(bounds, occupancy, () => false, (entry) => evicted.push(entry.key));
  };

  beforeEach(() => build());

  it('keeps pinned sessions and the LRU within both bounds together, evicting the least recently used', () => {
    for (const key of ['a1', 'a2', 'a3']) residents.add(session(key));
    residents.get('a1'); // now the most recent
    residents.pin(session('p1', 'a', 700)); // 1,000 bytes with a1..a3: fits
    expect(evicted).toEqual([]);
    residents.pin(session('p2', 'a', 100)); // 1,100: a2, the least recently used, goes
    expect(evicted).toEqual(['a2']);
    expect(residents.usage()).toEqual({ bytes: 1000, models: 4, pinnedBytes: 800, pinnedModels: 2 });
    expect(occupancy.residentOf('a')).toEqual({ bytes: 1000, models: 4 });
    expect(() => residents.assertPinRoom('a', 201)).toThrow(expect.objectContaining({ code: 'PIN_LIMIT_EXCEEDED' }));
  });

  it("refuses a tenant's pin past its share of either bound, telling it of its own pins only", () => {
    build((tenant) => (tenant === 'a' ? 0.5 : 1));
    residents.pin(session('b1', 'b', 300)); // b, with the whole cache as its share
    residents.pin(session('a1', 'a', 100));
    residents.pin(session('a2', 'a', 100)); // 2 of a's 2 models (half of 4)
    const refusal = (() => {
      try {
        residents.assertPinRoom('a', 100);
      } catch (error) {
        return error as { code: string; details: unknown };
      }
    })();
    expect(refusal).toMatchObject({ code: 'PIN_LIMIT_EXCEEDED', details: { pinnedModels: 2, pinnedBytes: 200, maxModels: 2, maxBytes: 500, share: 0.5 } });
    residents.unpin(session('a2', 'a', 100));
    expect(() => residents.assertPinRoom('a', 300)).not.toThrow(); // 400 of a's 500 bytes
    expect(() => residents.assertPinRoom('a', 401)).toThrow(expect.objectContaining({ code: 'PIN_LIMIT_EXCEEDED' })); // past 500
    // b's share is the whole cache: only the cache's bound (4 models, 1,000 bytes, all pins counted) stops it.
    expect(() => residents.assertPinRoom('b', 600)).not.toThrow();
    expect(() => residents.assertPinRoom('b', 601)).toThrow(expect.objectContaining({ details: { pinnedModels: 1, pinnedBytes: 300, maxModels: 4, maxBytes: 1000 } }));
  });

  it('counts the room loads under way hold, and makes a load wait rather than evict when they hold it', () => {
    residents.add(session('a1'));
    occupancy.countLoad('a', 900, 1);
    expect(residents.fits(one())).toBe(false);
    expect(residents.fits(one(), { evictingAll: true })).toBe(true);
    expect(residents.makeRoom('a', one(), 'or-wait')).toBe('fits'); // its own LRU session gives the room
    expect(evicted).toEqual(['a1']);
    expect(residents.makeRoom('a', one(200), 'or-wait')).toBe('cache-full'); // only the load holds the rest
  });

  it('takes room from the least recently used sessions of tenants past their share first', () => {
    build(() => 0.5);
    residents.add(session('b1', 'b'));
    for (const key of ['a1', 'a2', 'a3']) residents.add(session(key, 'a')); // a: 3 of 4, past its 2
    expect(residents.makeRoom('b', one(), 'or-wait')).toBe('fits');
    expect(evicted).toEqual(['a1']); // not b1, though it is the least recently used
  });

  it("tells a tenant past its share that only tenants within theirs could give room, unless it must go in", () => {
    build(() => 0.5);
    for (const key of ['a1', 'a2']) residents.pin(session(key, 'a'));
    for (const key of ['b1', 'b2']) residents.add(session(key, 'b'));
    expect(residents.makeRoom('a', one(), 'or-stay-out')).toBe('tenant-full');
    expect(evicted).toEqual([]);
    expect(residents.makeRoom('a', one(), 'must-go-in')).toBe('fits');
    expect(evicted).toEqual(['b1']);
  });
});
