import { ShadowComparison } from './shadow-comparison';

describe('ShadowComparison of an output the shadow shapes differently', () => {
  it('leaves it out rather than lining its values up flat against the wrong rows', () => {
    const c = new ShadowComparison(1, 2);
    // Primary: one value a row ([[3],[30]]); shadow: two a row ([[3,6],[30,60]]) under the same name.
    c.record({ variable: [3, 30] }, { variable: [3, 6, 30, 60] });
    expect(c.figures()).toMatchObject({ count: 1, shadowErrors: 0, meanAbsDiff: null, maxAbsDiff: null, p95RelDiff: null });
    // Outputs that do agree in size are still compared beside it.
    c.record({ variable: [3, 30], mean: [10, 20] }, { variable: [3, 6, 30, 60], mean: [11, 22] });
    expect(c.figures()).toMatchObject({ count: 2, meanAbsDiff: 1.5, maxAbsDiff: 2, p95RelDiff: 0.1 });
  });
});
