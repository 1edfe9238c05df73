import { planFeeds } from './feature-feeds';

describe('planFeeds', () => {
  it('feeds one [N, F] input, leaving out rows whose values do not convert', () => {
    const plan = planFeeds('m', 1, [{ name: 'float_input', type: 'float32', shape: ['N', 3] }], ['a', 'b', 'c']);
    const { feeds, kept, bad } = plan.build([
      ['1', '2', '3'],
      ['4', 'x', '6'],
      [7, '', null],
    ]);
    expect(kept).toEqual([0, 2]);
    expect(bad).toEqual([{ index: 1, message: `feature 'b' = "x" is not a valid float32` }]);
    expect(feeds[0].dims).toEqual([2, 3]);
    expect(Array.from(feeds[0].data as Float32Array)).toEqual([1, 2, 3, 7, NaN, NaN]);
  });

  it('feeds one input per feature by name, in each input type', () => {
    const plan = planFeeds(
      'm',
      1,
      [
        { name: 'qty', type: 'int64', shape: ['N', 1] },
        { name: 'flag', type: 'bool', shape: ['N'] },
      ],
      ['flag', 'qty'],
    );
    const { feeds, bad } = plan.build([
      ['true', '12'],
      ['0', '1.5'],
    ]);
    expect(bad).toEqual([{ index: 1, message: `feature 'qty' = "1.5" is not a valid int64` }]);
    expect(feeds.map((f) => [f.name, f.dims, Array.from(f.data as ArrayLike<unknown>)])).toEqual([
      ['qty', [1, 1], [12n]],
      ['flag', [1], [1]],
    ]);
  });

  it('fails rows whose float values the input type cannot hold, instead of feeding Infinity', () => {
    const plan = planFeeds('m', 1, [{ name: 'float_input', type: 'float32', shape: ['N', 2] }], ['a', 'b']);
    const { kept, bad } = plan.build([
      ['1e39', '1'],
      ['3.4028235e38', '-1e-50'],
      [-1e39, 1],
      ['1e400', 'NaN'],
      ['', 'nan'],
    ]);
    expect(kept).toEqual([1, 4]);
    expect(bad.map((b) => b.message)).toEqual([
      `feature 'a' = "1e39" is not a valid float32`,
      `feature 'a' = -1e+39 is not a valid float32`,
      `feature 'a' = "1e400" is not a valid float32`,
    ]);
    const wide = planFeeds('m', 1, [{ name: 'x', type: 'float64', shape: ['N', 1] }], ['x']).build([['1e39'], ['1e400'], ['-1e308']]);
    expect(wide.kept).toEqual([0, 2]);
  });

  it('reads integer features written as whole decimals (pandas writes 2.0 for a column with gaps), as JSONL numbers are', () => {
    const plan = planFeeds(
      'm',
      1,
      [
        { name: 'qty', type: 'int64', shape: ['N', 1] },
        { name: 'day', type: 'int32', shape: ['N', 1] },
      ],
      ['qty', 'day'],
    );
    const { feeds, kept, bad } = plan.build([
      ['2.0', '3.0'],
      ['1e3', ' 4.00 '],
      ['2.5', '1'],
      ['1', '1e10'],
      ['1e20', '1'],
    ]);
    expect(kept).toEqual([0, 1]);
    expect(bad.map((b) => b.message)).toEqual([
      `feature 'qty' = "2.5" is not a valid int64`,
      `feature 'day' = "1e10" is not a valid int32`,
      `feature 'qty' = "1e20" is not a valid int64`,
    ]);
    expect(Array.from(feeds[0].data as BigInt64Array)).toEqual([2n, 1000n]);
    expect(Array.from(feeds[1].data as Int32Array)).toEqual([3, 4]);
  });

  it('refuses integers outside the range of the input type instead of wrapping them', () => {
    const plan = planFeeds(
      'm',
      1,
      [
        { name: 'small', type: 'uint8', shape: ['N', 1] },
        { name: 'big', type: 'uint64', shape: ['N', 1] },
      ],
      ['small', 'big'],
    );
    const { feeds, kept, bad } = plan.build([
      ['255', '18446744073709551615'],
      ['256', '1'],
      ['-1', '1'],
      ['7', '-1'],
    ]);
    expect(kept).toEqual([0]);
    expect(bad.map((b) => b.message)).toEqual([
      `feature 'small' = "256" is not a valid uint8`,
      `feature 'small' = "-1" is not a valid uint8`,
      `feature 'big' = "-1" is not a valid uint64`,
    ]);
    expect(feeds.map((f) => Array.from(f.data as ArrayLike<unknown>))).toEqual([[255], [18446744073709551615n]]);
  });

  it('feeds a string input only strings, as online, failing rows with anything else', () => {
    const plan = planFeeds('m', 1, [{ name: 'store', type: 'string', shape: ['N', 1] }], ['store']);
    const { feeds, kept, bad } = plan.build([['0042'], [42], [true], [{ a: 1 }], [['south']], [null], [''], ['a\u0000b']]);
    expect(kept).toEqual([0, 6]);
    expect(feeds[0].data).toEqual(['0042', '']);
    expect(bad.map((b) => b.index)).toEqual([1, 2, 3, 4, 5, 7]);
    expect(bad[0].message).toBe("feature 'store' = 42 is not a valid string");
  });

  it('says what the model takes when the features do not fit', () => {
    expect(() => planFeeds('m', 2, [{ name: 'float_input', type: 'float32', shape: ['N', 6] }], ['a', 'b'])).toThrow(
      "model 'm' version 2 takes float_input float32[N,6]; the job's 2 features (a, b) fit neither",
    );
  });
});
