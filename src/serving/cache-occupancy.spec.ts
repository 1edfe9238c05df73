import { CacheOccupancy, NOTHING } from './cache-occupancy';

describe('CacheOccupancy', () => {
  const bounds = { maxBytes: 1000, maxModels: 10 };

  it('keeps what each tenant holds and loads, and the loads of all', () => {
    const occupancy = new CacheOccupancy(bounds);
    occupancy.countResident('a', 100, 1);
    occupancy.countResident('a', 50, 1);
    occupancy.countLoad('a', 30, 1);
    occupancy.countLoad('b', 20, 1);
    expect(occupancy.residentOf('a')).toEqual({ bytes: 150, models: 2 });
    expect(occupancy.loading).toEqual({ bytes: 50, models: 2 });
    occupancy.countLoad('b', 20, -1);
    occupancy.countResident('a', 100, -1);
    expect(occupancy.hasLoadsUnderWay('b')).toBe(false);
    expect(occupancy.hasLoadsUnderWay('a')).toBe(true);
    expect([...occupancy.residents()]).toEqual([['a', { bytes: 50, models: 1 }]]);
    occupancy.countResident('a', 50, -1);
    expect([...occupancy.residents()]).toEqual([]);
    expect(occupancy.residentOf('a')).toEqual(NOTHING);
  });

  it('sees other tenants once they hold, load or wait to load', () => {
    const occupancy = new CacheOccupancy(bounds);
    occupancy.countResident('a', 100, 1);
    expect(occupancy.othersPresent('a', false)).toBe(false);
    expect(occupancy.othersPresent('a', true)).toBe(true);
    occupancy.countLoad('b', 10, 1);
    expect(occupancy.othersPresent('a', false)).toBe(true);
    expect(occupancy.othersPresent('b', false)).toBe(true);
  });

  it('tells a tenant past its share of either bound, counting its loads and what comes in', () => {
    const occupancy = new CacheOccupancy(bounds, () => 0.5);
    occupancy.countResident('a', 400, 1);
    occupancy.countLoad('a', 50, 1);
    expect(occupancy.isPastShare('a', NOTHING)).toBe(false);
    expect(occupancy.isPastShare('a', { bytes: 50, models: 1 })).toBe(false); // 500 of 500 bytes, 3 of 5 models
    expect(occupancy.isPastShare('a', { bytes: 51, models: 1 })).toBe(true);
    for (let i = 0; i < 3; i++) occupancy.countResident('a', 0, 1);
    expect(occupancy.isPastShare('a', { bytes: 0, models: 1 })).toBe(true); // 6 of 5 models
    expect(occupancy.pastShareLoadsUnderWay('b')).toBe(false);
    occupancy.countResident('a', 100, 1);
    expect(occupancy.pastShareLoadsUnderWay('b')).toBe(true);
    expect(occupancy.pastShareLoadsUnderWay('a')).toBe(false); // its own do not count
  });

  it('counts a tenant holding nothing within its share, however big what comes in, and a share of 1 as no limit', () => {
    const occupancy = new CacheOccupancy(bounds, (tenant) => (tenant === 'all' ? 1 : 0.1));
    expect(occupancy.isPastShare('a', { bytes: 900, models: 1 })).toBe(false);
    occupancy.countResident('all', 1000, 1);
    expect(occupancy.isPastShare('all', { bytes: 1000, models: 20 })).toBe(false);
  });

  it('takes a share it cannot read as the whole cache', () => {
    const occupancy = new CacheOccupancy(bounds, () => {
      throw new Error('no limits');
    });
    expect(occupancy.shareOf('a')).toBe(1);
  });
});
