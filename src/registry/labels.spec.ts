import { mergeLabels, parseLabels, parseLabelsField } from './labels';
import { RegistryErrorCode } from './registry.error';

const invalidFor = (field: string) => expect.objectContaining({ code: RegistryErrorCode.InvalidRequest, details: { field } });

describe('parseLabels', () => {
  it('accepts a flat object of strings and keeps them as given', () => {
    expect(parseLabels('segment', { region: 'north', store: '0042', empty: '' })).toEqual({ region: 'north', store: '0042', empty: '' });
    expect(parseLabels('segment', {})).toEqual({});
  });

  it.each([
    ['null', null],
    ['an array', ['north']],
    ['a string', '{"region":"north"}'],
    ['a number', 42],
  ])('refuses %s in place of an object, naming the field', (_what, value) => {
    expect(() => parseLabels('segment', value)).toThrow(invalidFor('segment'));
  });

  it.each([
    ['a number', { store: 42 }],
    ['a boolean', { promo: true }],
    ['a nested object', { geo: { region: 'north' } }],
    ['null without allowNull', { stale: null }],
  ])('refuses %s as a value, naming the key', (_what, value) => {
    const key = Object.keys(value)[0];
    expect(() => parseLabels('tags', value)).toThrow(new RegExp(`tags\\.${key} must be a string`));
    expect(() => parseLabels('tags', value)).toThrow(invalidFor('tags'));
  });

  it('accepts null values when asked to (merge patches)', () => {
    expect(parseLabels('tags', { stale: null, owner: 'x' }, { allowNull: true })).toEqual({ stale: null, owner: 'x' });
  });

  it.each(['region', 'Region_2', '_private', 'a.b', 'ns:key', 'x-y', 'k'.repeat(64)])('accepts the key %s', (key) => {
    expect(parseLabels('tags', { [key]: 'v' })).toEqual({ [key]: 'v' });
  });

  it.each(['', '.hidden', '-dash', 'has space', 'slash/key', 'naïve', 'k'.repeat(65)])('refuses the key %j', (key) => {
    expect(() => parseLabels('tags', { [key]: 'v' })).toThrow(invalidFor('tags'));
  });

  it('allows 64 keys and values of 256 characters, not more', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys(parseLabels('tags', keys(64)))).toHaveLength(64);
    expect(() => parseLabels('tags', keys(65))).toThrow(/more than 64 keys/);
    expect(parseLabels('tags', { k: 'v'.repeat(256) }).k).toHaveLength(256);
    expect(() => parseLabels('tags', { k: 'v'.repeat(257) })).toThrow(/longer than 256/);
  });

  it('refuses a __proto__ key, which a plain object would take as its prototype (a tag that vanishes)', () => {
    expect(() => parseLabelsField('tags', '{"__proto__":"x","a":"1"}')).toThrow(/tags key '__proto__' is reserved/);
    expect(() => parseLabelsField('segment', '{"__proto__":"x"}')).toThrow(invalidFor('segment'));
  });
});

describe('parseLabelsField', () => {
  it.each([undefined, '', '   '])('treats %j as absent', (text) => {
    expect(parseLabelsField('segment', text)).toBeUndefined();
  });

  it('parses a JSON object of strings', () => {
    expect(parseLabelsField('segment', '{"region":"north","store":"0042"}')).toEqual({ region: 'north', store: '0042' });
  });

  it.each(['not json', '{"region":', '["north"]', 'null', '"north"', '{"store": 42}', '{"stale": null}'])('answers 400 naming the field for %s', (text) => {
    expect(() => parseLabelsField('tags', text)).toThrow(invalidFor('tags'));
  });
});

describe('mergeLabels', () => {
  it('applies a JSON merge patch: a string sets a key, null removes it, other keys stay', () => {
    expect(mergeLabels({ algo: 'gbr', run: '1', owner: 'a' }, { run: null, owner: 'b', family: 'demand' })).toEqual({ algo: 'gbr', owner: 'b', family: 'demand' });
  });

  it('ignores a null for a key that is not there and leaves its inputs untouched', () => {
    const current = { algo: 'gbr' };
    const patch = { gone: null, algo: 'linear' };
    expect(mergeLabels(current, patch)).toEqual({ algo: 'linear' });
    expect(current).toEqual({ algo: 'gbr' });
    expect(patch).toEqual({ gone: null, algo: 'linear' });
  });

  it('returns an equal copy for an empty patch', () => {
    const current = { algo: 'gbr' };
    const merged = mergeLabels(current, {});
    expect(merged).toEqual(current);
    expect(merged).not.toBe(current);
  });
});
