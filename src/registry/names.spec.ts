import { assertAliasName, assertModelName, parseVersionNumber } from './names';
import { RegistryErrorCode } from './registry.error';

const error = (code: RegistryErrorCode) => expect.objectContaining({ code });

describe('assertModelName', () => {
  it.each(['a', '0', 'demand-north-0042', 'v1.2_final', 'x.', `a${'b'.repeat(127)}`])('accepts %s', (name) => {
    expect(() => assertModelName(name)).not.toThrow();
  });

  it.each(['', 'Demand', '-demand', '.hidden', '_private', 'demand north', 'demand/north', 'dé', 'a'.repeat(129), 'a\n'])('refuses %j', (name) => {
    expect(() => assertModelName(name)).toThrow(error(RegistryErrorCode.InvalidModelName));
  });

  it('names the pattern, and cuts an absurdly long name short in the message', () => {
    const long = 'X'.repeat(10_000);
    let thrown: { message: string; details: Record<string, unknown> } | undefined;
    try {
      assertModelName(long);
    } catch (e) {
      thrown = e as typeof thrown;
    }
    expect(thrown?.details).toEqual({ name: `${'X'.repeat(140)}…`, pattern: '^[a-z0-9][a-z0-9._-]{0,127}$' });
    expect(thrown?.message.length).toBeLessThan(300);
  });
});

describe('assertAliasName', () => {
  it.each(['production', 'a', 'canary_2', 'blue-green', `a${'b'.repeat(63)}`])('accepts %s', (alias) => {
    expect(() => assertAliasName(alias)).not.toThrow();
  });

  it.each(['', '3', '1st', 'Production', '-x', '_x', 'stag.ing', 'a b', `a${'b'.repeat(64)}`])('refuses %j (an alias never reads as a version)', (alias) => {
    expect(() => assertAliasName(alias)).toThrow(error(RegistryErrorCode.InvalidAliasName));
  });
});

describe('parseVersionNumber', () => {
  it.each([
    ['1', 1],
    ['42', 42],
    ['007', 7],
    ['999999999', 999_999_999],
    ['2147483647', 2_147_483_647],
    [3, 3],
  ])('reads %j as %d', (raw, expected) => {
    expect(parseVersionNumber(raw)).toBe(expected);
  });

  it.each(['0', '000', '-1', '+1', '1.5', '1e3', ' 1', '1 ', 'two', '', '0x10', '2147483648', '12345678901'])('refuses the path segment %j', (raw) => {
    expect(() => parseVersionNumber(raw)).toThrow(error(RegistryErrorCode.InvalidRequest));
  });

  it.each([0, -1, 1.5, NaN, Infinity])('refuses the number %d', (raw) => {
    expect(() => parseVersionNumber(raw)).toThrow(error(RegistryErrorCode.InvalidRequest));
  });

  // Versions are Postgres `integer`s: a larger number would reach the database and fail there (a 500).
  it.each([2 ** 31, Number.MAX_SAFE_INTEGER])('refuses the number %d, beyond the version column', (raw) => {
    expect(() => parseVersionNumber(raw)).toThrow(error(RegistryErrorCode.InvalidRequest));
  });

  it('says which numbers a version can be', () => {
    expect(() => parseVersionNumber('2147483648')).toThrow("Version '2147483648' must be a whole number from 1 to 2147483647");
  });
});
