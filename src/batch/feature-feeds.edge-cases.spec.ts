import { planFeeds } from './feature-feeds';

describe('planFeeds: missing values as data files spell them', () => {
  it("reads pandas' missing-value spellings (R's NA, SQL's NULL…) as NaN for a float input, and still fails text", () => {
    const plan = planFeeds('m', 1, [{ name: 'float_input', type: 'float32', shape: ['N', 2] }], ['lag_7', 'lag_28']);
    const { feeds, kept, bad } = plan.build([
      ['NA', '1'],
      ['NULL', 'null'],
      [' N/A ', '#N/A'],
      ['None', '<NA>'],
      ['nan', '-NaN'],
      ['n/a', '2'],
      ['cheap', '3'],
      ['NAN', '4'],
    ]);
    expect(kept).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(feeds[0].data as Float32Array)).toEqual([NaN, 1, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, 2]);
    expect(bad.map((b) => b.message)).toEqual([`feature 'lag_7' = "cheap" is not a valid float32`, `feature 'lag_7' = "NAN" is not a valid float32`]);
  });

  it('keeps refusing missing-value spellings for integer inputs, whose tensors have no NaN', () => {
    const plan = planFeeds('m', 1, [{ name: 'index', type: 'int64', shape: ['N', 1] }], ['index']);
    const { kept, bad } = plan.build([['NA'], ['1'], ['']]);
    expect(kept).toEqual([1]);
    expect(bad.map((b) => b.index)).toEqual([0, 2]);
  });
});
