import { parseTrafficBody } from './rollout.dto';

describe('parseTrafficBody', () => {
  it('takes every version number a registry can hold, in split keys and mirror.version', () => {
    expect(parseTrafficBody({ split: { '1': 90, '2147483647': 10 }, mirror: { version: 2147483647, percent: 5 } })).toEqual({
      split: [
        { version: 1, weight: 90 },
        { version: 2147483647, weight: 10 },
      ],
      mirror: { version: 2147483647, percent: 5 },
    });
  });

  // Beyond the version column a value would reach the database and fail there (a 500).
  it.each([
    [{ split: { '2147483648': 100 } }, "split key '2147483648' must be a version number (a whole number from 1 to 2147483647)"],
    [{ split: { '007': 100 } }, "split key '007' must be a version number"],
    [{ mirror: { version: 2147483648, percent: 5 } }, 'mirror.version must be a version number (a whole number from 1 to 2147483647)'],
    [{ mirror: { version: 1e300, percent: 5 } }, 'mirror.version must be a version number'],
    [{ mirror: { version: '3', percent: 5 } }, 'mirror.version must be a version number'],
  ])('refuses %j', (body, message) => {
    expect(() => parseTrafficBody(body)).toThrow(expect.objectContaining({ code: 'INVALID_TRAFFIC_RULE', message: expect.stringContaining(message) }));
  });
});
