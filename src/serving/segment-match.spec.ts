import { pickSegmentMatch, SegmentCandidate, segmentKey, segmentMatches } from './segment-match';

describe('segment matching', () => {
  const models: SegmentCandidate[] = [
    { name: 'demand-north', segment: { region: 'north' } },
    { name: 'demand-north-0042', segment: { region: 'north', store: '0042' } },
    { name: 'demand-south', segment: { region: 'south' } },
    { name: 'promo-north', segment: { region: 'north', channel: 'promo' } },
    { name: 'unsegmented', segment: {} },
  ];

  it('matches when every key of the model segment has the request value', () => {
    expect(segmentMatches({ region: 'north' }, { region: 'north', store: '7' })).toBe(true);
    expect(segmentMatches({ region: 'north', store: '0042' }, { region: 'north' })).toBe(false);
    expect(segmentMatches({ store: '0042' }, { store: '42' })).toBe(false);
    expect(segmentMatches({}, { region: 'north' })).toBe(false);
  });

  it("prefers the store's own model over its region's", () => {
    expect(pickSegmentMatch({ region: 'north', store: '0042' }, models)?.name).toBe('demand-north-0042');
  });

  it("falls back to the region's model for a store without one", () => {
    expect(pickSegmentMatch({ region: 'north', store: '0007' }, models)?.name).toBe('demand-north');
  });

  it('breaks ties between equally specific models by name, whatever the order', () => {
    const request = { region: 'north', store: '0042', channel: 'promo' };
    expect(pickSegmentMatch(request, models)?.name).toBe('demand-north-0042');
    expect(pickSegmentMatch(request, [...models].reverse())?.name).toBe('demand-north-0042');
  });

  it('answers null when nothing matches (unsegmented models never do)', () => {
    expect(pickSegmentMatch({ region: 'east' }, models)).toBeNull();
  });

  it('keys segments independently of key order', () => {
    expect(segmentKey({ a: '1', b: '2' })).toBe(segmentKey({ b: '2', a: '1' }));
    expect(segmentKey({ a: '1' })).not.toBe(segmentKey({ a: '2' }));
  });
});
