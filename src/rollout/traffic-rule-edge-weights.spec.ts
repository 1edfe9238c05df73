import { pickSplitVersion, TrafficRule } from './traffic-rule';

const rule = (split: Array<[number, number]>): TrafficRule => ({
  modelId: 'm',
  tenantId: 't',
  split: split.map(([version, weight]) => ({ version, weight })),
  mirror: null,
  updatedAt: new Date(0),
  updatedBy: 'root',
});

/** A split's weights are accepted within 1e-6 of 100: the sliver they leave must not reach a 0 % version. */
describe('pickSplitVersion at the edge of the weights', () => {
  it('never picks a version of weight 0, even for a point beyond weights summing to a hair under 100', () => {
    const almostAll = rule([
      [1, 99.9999995],
      [2, 0],
    ]);
    expect(pickSplitVersion(almostAll, undefined, () => 0.9999999999)).toBe(1);
    expect(pickSplitVersion(almostAll, undefined, () => 0)).toBe(1);
  });

  it('skips a 0 % version in the middle of the split', () => {
    const split = rule([
      [1, 50],
      [2, 0],
      [3, 50],
    ]);
    expect(pickSplitVersion(split, undefined, () => 0.5)).toBe(3);
    expect(pickSplitVersion(split, undefined, () => 0.4999)).toBe(1);
  });
});
