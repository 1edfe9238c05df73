import { planFeeds } from '../feature-feeds';
import { parseStagingRows, stagingJson } from './staging';

describe('staging lines', () => {
  it('keep ±Infinity and NaN as numbers, so the row fails as beyond the float types instead of reading as a missing value', () => {
    const text = stagingJson(1, [Infinity, 2], false) + stagingJson(2, [-Infinity, 2], false) + stagingJson(3, [NaN, 2], false) + stagingJson(4, [1.5, 2n ** 70n], true);
    const rows = parseStagingRows(text);
    expect(rows).toEqual([
      [1, Infinity, 2],
      [2, -Infinity, 2],
      [3, NaN, 2], // a missing value for a float feature, as null is
      [4, 1.5, 2n ** 70n],
    ]);
    const plan = planFeeds('m', 1, [{ name: 'x', type: 'float64', shape: ['N', 2] }], ['a', 'b']);
    expect(plan.build(rows.slice(0, 3).map((r) => r.slice(1))).bad).toEqual([
      { index: 0, message: `feature 'a' = Infinity is not a valid float64` },
      { index: 1, message: `feature 'a' = -Infinity is not a valid float64` },
    ]);
  });
});
