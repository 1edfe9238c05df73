import { ShadowComparison } from './shadow-comparison';

/** Values real forecasts produce that the plain arithmetic gets wrong: zeros and non-finite numbers. */
describe('ShadowComparison with zero and non-finite values', () => {
  it('leaves primary answers of 0 out of the relative difference, as MAPE leaves out actuals of 0', () => {
    const c = new ShadowComparison(1, 2);
    // a store closed on Sundays: the primary forecasts 0 units, the shadow 0.5
    for (let i = 0; i < 10; i++) c.record({ y: [0, 10] }, { y: [0.5, 11] });
    expect(c.figures()).toMatchObject({ count: 10, meanAbsDiff: 0.75, maxAbsDiff: 1, p95RelDiff: 0.1 });
  });

  it('has no relative figure when every primary answer was 0', () => {
    const c = new ShadowComparison(1, 2);
    c.record({ y: [0, 0] }, { y: [1, 0] });
    expect(c.figures()).toMatchObject({ count: 1, meanAbsDiff: 0.5, maxAbsDiff: 1, p95RelDiff: null });
  });

  it('does not let a NaN or infinite value turn the figures to NaN for good', () => {
    const c = new ShadowComparison(1, 2);
    c.record({ y: [NaN, 10] }, { y: [1, 12] });
    c.record({ y: [Infinity] }, { y: [1] });
    c.record({ y: [20] }, { y: [22] });
    expect(c.figures()).toMatchObject({ count: 3, meanAbsDiff: 2, maxAbsDiff: 2, p95RelDiff: 0.2 });
  });
});
