import { ShadowComparison } from './shadow-comparison';

describe('ShadowComparison', () => {
  it('computes the figures a person would by hand', () => {
    const c = new ShadowComparison(3, 4);
    c.record({ y: [10, 20] }, { y: [11, 18] }); // abs 1, 2; rel 0.1, 0.1
    c.record({ y: [100] }, { y: [100] }); // abs 0; rel 0
    c.record({ y: [4], other: [1] }, { y: [5] }); // abs 1; rel 0.25; 'other' not in shadow
    c.recordError();
    expect(c.figures()).toEqual({
      primaryVersion: 3,
      shadowVersion: 4,
      count: 4,
      shadowErrors: 1,
      meanAbsDiff: (1 + 2 + 0 + 1) / 4,
      maxAbsDiff: 2,
      p95RelDiff: 0.25,
    });
  });

  it('has no difference figures before any comparison', () => {
    expect(new ShadowComparison(1, 2).figures()).toMatchObject({ count: 0, meanAbsDiff: null, maxAbsDiff: null, p95RelDiff: null });
  });

  it('keeps memory fixed over a long mirror', () => {
    const c = new ShadowComparison(1, 2);
    for (let i = 0; i < 10_000; i++) c.record({ y: [1] }, { y: [i < 9_000 ? 1 : 2] });
    // only the most recent 2048 values count for the p95, and those include the last 1000 differing ones
    expect(c.figures().p95RelDiff).toBe(1);
    expect(c.figures().count).toBe(10_000);
  });
});
