import { pickSplitVersion, shouldMirror, TrafficRule } from './traffic-rule';

const rule = (split: Array<[number, number]>, mirror: TrafficRule['mirror'] = null): TrafficRule => ({
  modelId: 'm1',
  tenantId: 't1',
  split: split.map(([version, weight]) => ({ version, weight })),
  mirror,
  updatedAt: new Date(),
  updatedBy: 'root',
});

describe('pickSplitVersion', () => {
  it('splits random traffic in proportion to the weights', () => {
    const r = rule([
      [3, 90],
      [4, 10],
    ]);
    const counts = new Map<number, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const v = pickSplitVersion(r, undefined)!;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    // 10% of 20,000: standard deviation ~42, so ±4σ
    expect(Math.abs((counts.get(4) ?? 0) - 2000)).toBeLessThan(170);
  });

  it('sends one routing key to one version, and keys in proportion', () => {
    const r = rule([
      [1, 50],
      [2, 50],
    ]);
    const first = pickSplitVersion(r, 'store-0042');
    for (let i = 0; i < 50; i++) expect(pickSplitVersion(r, 'store-0042')).toBe(first);
    let ones = 0;
    for (let i = 0; i < 4000; i++) if (pickSplitVersion(r, `key-${i}`) === 1) ones++;
    expect(Math.abs(ones - 2000)).toBeLessThan(130);
  });

  it('answers null without a split', () => {
    expect(pickSplitVersion(rule([], { version: 5, percent: 20 }), 'k')).toBeNull();
  });

  it('never picks a zero-weight version', () => {
    const r = rule([
      [1, 0],
      [2, 100],
    ]);
    for (let i = 0; i < 1000; i++) expect(pickSplitVersion(r, undefined)).toBe(2);
  });
});

describe('shouldMirror', () => {
  it('mirrors the given percentage', () => {
    let mirrored = 0;
    for (let i = 0; i < 10_000; i++) if (shouldMirror(rule([], { version: 2, percent: 20 }))) mirrored++;
    expect(Math.abs(mirrored - 2000)).toBeLessThan(160);
    expect(shouldMirror(rule([[1, 100]]))).toBe(false);
  });
});
