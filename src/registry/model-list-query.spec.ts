import { DEFAULT_PAGE_SIZE, encodeCursor, MAX_PAGE_SIZE, parseModelListQuery } from './model-list-query';
import { RegistryErrorCode } from './registry.error';

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const badParameter = (parameter: string) => expect.objectContaining({ code: RegistryErrorCode.InvalidRequest, details: { parameter } });

describe('parseModelListQuery', () => {
  it('lists everything, first page, default size, without parameters', () => {
    expect(parseModelListQuery({})).toEqual({ segment: {}, tags: {}, q: undefined, limit: DEFAULT_PAGE_SIZE, after: undefined });
  });

  it('collects segment.<key> and tag.<key> parameters as string maps', () => {
    const filter = parseModelListQuery({ 'segment.region': 'north', 'segment.store': '0042', 'tag.algo': 'gbr', 'tag.a.b': 'dotted', q: 'demand' });
    expect(filter).toMatchObject({ segment: { region: 'north', store: '0042' }, tags: { algo: 'gbr', 'a.b': 'dotted' }, q: 'demand' });
  });

  it('treats empty q and cursor as absent', () => {
    expect(parseModelListQuery({ q: '', cursor: '' })).toMatchObject({ q: undefined, after: undefined });
  });

  it.each([1, 50, MAX_PAGE_SIZE])('accepts limit=%d', (limit) => {
    expect(parseModelListQuery({ limit: String(limit) }).limit).toBe(limit);
  });

  it.each(['0', String(MAX_PAGE_SIZE + 1), '-1', '1.5', 'ten', '', '1e2', '9999999'])('refuses limit=%j', (limit) => {
    expect(() => parseModelListQuery({ limit })).toThrow(badParameter('limit'));
  });

  it.each(['segments.region', 'tags.algo', 'name', 'Limit', 'offset'])('refuses the unknown parameter %s so that a typo never widens a listing', (key) => {
    expect(() => parseModelListQuery({ [key]: 'x' })).toThrow(badParameter(key));
    expect(() => parseModelListQuery({ [key]: 'x' })).toThrow(new RegExp(`Unknown query parameter '${key.replace('.', '\\.')}'`));
  });

  it('refuses a parameter given twice', () => {
    expect(() => parseModelListQuery({ 'segment.region': ['north', 'south'] })).toThrow(badParameter('segment.region'));
  });

  it.each([
    ['segment', 'segment.bad key'],
    ['segment', 'segment.'],
    ['tag', 'tag.-x'],
  ])('refuses an invalid %s key (%j)', (field, key) => {
    expect(() => parseModelListQuery({ [key]: 'x' })).toThrow(expect.objectContaining({ code: RegistryErrorCode.InvalidRequest, details: { field } }));
  });

  it.each(['segment.__proto__', 'tag.__proto__'])('refuses %s rather than dropping the filter and listing everything', (key) => {
    const field = key.split('.')[0];
    expect(() => parseModelListQuery({ [key]: 'x' })).toThrow(expect.objectContaining({ code: RegistryErrorCode.InvalidRequest, details: { field } }));
  });

  it('refuses a filter value longer than a label may be', () => {
    expect(() => parseModelListQuery({ 'tag.algo': 'x'.repeat(257) })).toThrow(/longer than 256/);
  });

  it.each(['demand-north-0042', 'a', 'name.with_all-chars'])('reads back the cursor it hands out after %s', (name) => {
    expect(parseModelListQuery({ cursor: encodeCursor(name) }).after).toBe(name);
  });

  it.each([
    ['garbage', 'garbage'],
    ['base64 of text', base64url('not json')],
    ['JSON without after', base64url('{"before":"x"}')],
    ['a non-string after', base64url('{"after":42}')],
    ['JSON null', base64url('null')],
  ])('refuses %s as a cursor', (_what, cursor) => {
    expect(() => parseModelListQuery({ cursor })).toThrow(expect.objectContaining({ code: RegistryErrorCode.InvalidCursor, details: { parameter: 'cursor' } }));
  });
});
