import { isStorableText, isUnstorableTextError } from './storable-text';

describe('storable text', () => {
  it('refuses NUL characters and unpaired surrogates, and nothing else', () => {
    for (const ok of ['', 'store-0042', 'é ü ß', '😀 paired surrogates', 'line\nbreak']) expect(isStorableText(ok)).toBe(true);
    for (const bad of ['a\u0000b', '\ud800', 'x\udc00y', '\ud83dx']) expect(isStorableText(bad)).toBe(false);
  });

  it("recognises PostgreSQL's refusal of such text, also wrapped by the ORM", () => {
    expect(isUnstorableTextError(Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' }))).toBe(true);
    expect(isUnstorableTextError({ message: 'query failed', driverError: Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }) })).toBe(true);
    expect(isUnstorableTextError(Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' }))).toBe(true);
    expect(isUnstorableTextError(Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }))).toBe(false);
    expect(isUnstorableTextError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });
});
