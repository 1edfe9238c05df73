import { inParallel } from './in-parallel';

describe('inParallel', () => {
  it('runs every item once, with its index, never more than `concurrency` at a time', async () => {
    let running = 0;
    let peak = 0;
    const seen: Array<[string, number]> = [];
    await inParallel(['a', 'b', 'c', 'd', 'e'], 2, async (item, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      seen.push([item, i]);
      running--;
    });
    expect(peak).toBe(2);
    expect(seen.sort()).toEqual([['a', 0], ['b', 1], ['c', 2], ['d', 3], ['e', 4]]);
  });

  it('rejects with the first failure', async () => {
    await expect(inParallel([1, 2, 3], 3, async (n) => (n === 2 ? Promise.reject(new Error('two')) : undefined))).rejects.toThrow('two');
  });
});
