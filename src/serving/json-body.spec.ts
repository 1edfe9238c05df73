import { DEFAULT_POISONING_RULES, invalidUtf8, jsonNestsDeeperThan, parseJsonBody, parseMlflowJsonBody, pythonJsonAsJson } from './json-body';

const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
const bytes = (text: string) => Buffer.from(text);

describe('jsonNestsDeeperThan', () => {
  it('counts arrays and objects, one level each', () => {
    expect(jsonNestsDeeperThan(bytes(deep(3)), 3)).toBe(false);
    expect(jsonNestsDeeperThan(bytes(deep(4)), 3)).toBe(true);
    expect(jsonNestsDeeperThan(bytes('{"a": {"b": [1, {"c": 2}]}}'), 4)).toBe(false);
    expect(jsonNestsDeeperThan(bytes('{"a": {"b": [1, {"c": {}}]}}'), 4)).toBe(true);
    // Siblings do not add up: depth goes back down as they close.
    expect(jsonNestsDeeperThan(bytes(`[${Array.from({ length: 1_000 }, () => '[[1]]').join(',')}]`), 3)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes and multi-byte characters included', () => {
    expect(jsonNestsDeeperThan(bytes(`{"a": "${'['.repeat(100)}"}`), 1)).toBe(false);
    expect(jsonNestsDeeperThan(bytes(`{"a": "quote \\" then ${'{'.repeat(100)}", "b": "é[😀\\\\"}`), 1)).toBe(false);
    expect(jsonNestsDeeperThan(bytes('{"a": "\\\\", "b": [[1]]}'), 2)).toBe(true); // an escaped backslash ends before the quote
  });

  it('reads a big flat body', () => {
    const flat = bytes(`{"actual": [${Array.from({ length: 100_000 }, (_, i) => i).join(',')}]}`);
    expect(jsonNestsDeeperThan(flat, 2)).toBe(false);
  });
});

describe("Python's JSON constants (MLflow invocations)", () => {
  const of = (text: string) => pythonJsonAsJson(Buffer.from(text))?.toString() ?? null;

  it('writes NaN as null and infinities as numbers beyond any float, outside strings only', () => {
    expect(of('[1, NaN, Infinity, -Infinity]')).toBe('[1, null, 1e999, -1e999]');
    expect(of('{"NaN": "Infinity \\" NaN", "v": NaN}')).toBe('{"NaN": "Infinity \\" NaN", "v": null}');
    expect(of('{"a": [1, 2]}')).toBeNull();
    expect(parseMlflowJsonBody(Buffer.from('{"a": [NaN, -Infinity]}'), DEFAULT_POISONING_RULES)).toEqual({ a: [null, -Infinity] });
  });

  it('refuses a body that is not JSON even so for what is wrong besides those tokens', () => {
    expect(() => parseMlflowJsonBody(Buffer.from('{"a": [NaN'), DEFAULT_POISONING_RULES)).toThrow(/Body is not valid JSON: Expected ',' or ']' after array element/);
    expect(() => parseMlflowJsonBody(Buffer.from('{"a": nan}'), DEFAULT_POISONING_RULES)).toThrow(/Body is not valid JSON/);
    expect(() => parseMlflowJsonBody(Buffer.from('{"a": [NaN], "__proto__": {}}'), DEFAULT_POISONING_RULES)).toThrow(/'__proto__' or 'constructor.prototype' key/);
  });
});

describe('bodies that are not UTF-8', () => {
  it('are refused saying from which byte, where decoding would have put U+FFFD in their place', () => {
    const latin1 = Buffer.from('{"store": "caf\u00e9"}', 'latin1');
    expect(invalidUtf8(latin1)).toMatchObject({ code: 'INVALID_REQUEST', message: 'The body is not valid UTF-8 (from byte 14): send it encoded in UTF-8', details: { byte: 14 } });
    expect(() => parseJsonBody(latin1, DEFAULT_POISONING_RULES)).toThrow('not valid UTF-8');
    expect(invalidUtf8(Buffer.from('{"store": "caf\u00e9 \u{1F600}"}', 'utf8'))).toBeUndefined();
    expect(invalidUtf8(Buffer.from([0x5b, 0xed, 0xa0, 0x80, 0x5d]))).toMatchObject({ details: { byte: 1 } }); // an encoded surrogate
    // Cut short where U+FFFD's own encoding (EF BF BD) begins: the fault is where the cut sequence starts.
    expect(invalidUtf8(Buffer.from([0x5b, 0x22, 0xef, 0xbf, 0x22, 0x5d]))).toMatchObject({ details: { byte: 2 } });
    expect(invalidUtf8(Buffer.from([0x5b, 0x22, 0xef, 0x22, 0x5d]))).toMatchObject({ details: { byte: 2 } });
    expect(invalidUtf8(Buffer.from([0xef, 0xbf, 0xbd, 0xef, 0xbf]))).toMatchObject({ details: { byte: 3 } }); // after a U+FFFD sent as such
  });
});
