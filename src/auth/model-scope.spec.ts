import { globMatches } from './model-scope';

describe('globMatches', () => {
  it.each([
    ['demand-*', 'demand-north-0042', true],
    ['demand-*', 'demand-', true],
    ['demand-*', 'supply-north', false],
    ['*-0042', 'demand-north-0042', true],
    ['*-0042', 'demand-north-0043', false],
    ['demand-?', 'demand-n', true],
    ['demand-?', 'demand-no', false],
    ['d*n*2', 'demand-north-0042', true],
    ['d*n*3', 'demand-north-0042', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false], // `.` is a character like any other, not "any"
    ['x_y', 'x_y', true],
    ['x_y', 'xzy', false],
    ['**a**', 'bab', true],
    ['*a', 'aaab', false],
  ])('%j against %j: %s', (glob, name, expected) => {
    expect(globMatches(glob, name)).toBe(expected);
  });

  it('answers at once for globs that make a regular expression backtrack exponentially', () => {
    // As `^.*.*…b$` these took seconds (10 stars) to forever (30) on a 128-character name.
    const name = 'a'.repeat(128);
    for (const glob of ['*'.repeat(127) + 'b', '*a'.repeat(63) + 'b', '?*'.repeat(60) + 'b']) {
      expect(globMatches(glob, name)).toBe(false);
    }
    expect(globMatches('*a'.repeat(64), name)).toBe(true);
  });
});
