import { ResolutionCache } from './resolution-cache';

describe('ResolutionCache', () => {
  let now: number;
  let loads: number;
  let value: { v: number } | null;
  const load = async () => {
    loads++;
    return value;
  };
  const make = () => new ResolutionCache<{ v: number }>({ maxEntries: 100, freshMs: () => 1000, negativeMs: 200, retryAfterErrorMs: 100, now: () => now });

  beforeEach(() => {
    now = 0;
    loads = 0;
    value = { v: 1 };
  });

  it('answers hits synchronously and shares one load among concurrent misses', async () => {
    const cache = make();
    const results = await Promise.all([cache.get('t', 'm', load), cache.get('t', 'm', load), cache.get('t', 'm', load)]);
    expect(results).toEqual([{ v: 1 }, { v: 1 }, { v: 1 }]);
    expect(loads).toBe(1);
    expect(cache.get('t', 'm', load)).toEqual({ v: 1 });
  });

  it('loads many keys with one query, skipping those cached, and answers them from memory afterwards', async () => {
    const cache = make();
    await cache.get('t', 'a', load);
    const asked: string[][] = [];
    const loadMany = async (missing: string[]) => {
      asked.push(missing);
      return new Map(missing.filter((k) => k !== 'gone').map((k) => [k, { v: k.length }]));
    };
    const answers = await Promise.all(cache.getMany('t', ['a', 'bb', 'ccc', 'gone'], loadMany));
    expect(asked).toEqual([['bb', 'ccc', 'gone']]);
    expect(answers).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }, null]);
    expect(cache.get('t', 'ccc', load)).toEqual({ v: 3 });
    expect(cache.get('t', 'gone', load)).toBeNull();
    expect(loads).toBe(1);
  });

  it('does not keep what a bulk load read across an invalidation, and reports its failure per key', async () => {
    const cache = make();
    let finish!: (m: Map<string, { v: number }>) => void;
    const pending = cache.getMany('t', ['a'], () => new Promise((resolve) => (finish = resolve)));
    cache.invalidateTenant('t');
    finish(new Map([['a', { v: 9 }]]));
    expect(await pending[0]).toEqual({ v: 9 });
    expect(await cache.get('t', 'a', load)).toEqual({ v: 1 });
    const failing = cache.getMany('t', ['x', 'y'], async () => {
      throw new Error('db down');
    });
    await expect(failing[0]).rejects.toThrow('db down');
    await expect(failing[1]).rejects.toThrow('db down');
  });

  it('remembers "not found" only briefly', async () => {
    const cache = make();
    value = null;
    expect(await cache.get('t', 'x', load)).toBeNull();
    expect(cache.get('t', 'x', load)).toBeNull();
    expect(loads).toBe(1);
    now += 200;
    value = { v: 2 };
    expect(await cache.get('t', 'x', load)).toEqual({ v: 2 });
  });

  it('serves a stale entry while refreshing it in the background', async () => {
    const cache = make();
    await cache.get('t', 'm', load);
    now += 1000;
    value = { v: 2 };
    expect(cache.get('t', 'm', load)).toEqual({ v: 1 });
    await Promise.resolve();
    await Promise.resolve();
    expect(cache.get('t', 'm', load)).toEqual({ v: 2 });
    expect(loads).toBe(2);
  });

  it('drops keys and whole tenants on invalidation, and never stores a load that overlapped one', async () => {
    const cache = make();
    await cache.get('t', 'm', load);
    cache.invalidate('t', 'm');
    value = { v: 2 };
    const pending = cache.get('t', 'm', load);
    cache.invalidateTenant('t');
    expect(await pending).toEqual({ v: 2 });
    value = { v: 3 };
    expect(await cache.get('t', 'm', load)).toEqual({ v: 3 });
    await cache.get('other', 'm', load);
    cache.invalidateTenant('t');
    expect(cache.get('other', 'm', load)).toEqual({ v: 3 });
  });
});
