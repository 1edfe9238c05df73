import { OTHER, TopModelLabels } from './top-model-labels';

describe('TopModelLabels', () => {
  let now: number;
  const make = (maxModels: number, onDemoted?: (keys: string[]) => void) => new TopModelLabels({ maxModels, windowMs: 1000, now: () => now, onDemoted });

  beforeEach(() => {
    now = 0;
  });

  it('admits the first N models at once and counts every other model as "other"', () => {
    const top = make(3);
    const labels = Array.from({ length: 10 }, (_, i) => top.labelFor('t1', `m${i}`));
    expect(labels).toEqual(['m0', 'm1', 'm2', OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER]);
    expect(top.labelFor('t1', 'm1')).toBe('m1');
    expect(top.size).toBe(3);
  });

  it('keeps tenants apart: the same name in two tenants is two models', () => {
    const top = make(1);
    expect(top.labelFor('t1', 'demand')).toBe('demand');
    expect(top.labelFor('t2', 'demand')).toBe(OTHER);
    expect(top.isMember('t1', 'demand')).toBe(true);
    expect(top.isMember('t2', 'demand')).toBe(false);
  });

  it('hands the labels to the busiest models once per window and reports who lost one', () => {
    const demoted: string[][] = [];
    const top = make(2, (keys) => demoted.push(keys));
    top.labelFor('t', 'early-a');
    top.labelFor('t', 'early-b');
    for (let i = 0; i < 50; i++) top.labelFor('t', 'busy-1');
    for (let i = 0; i < 40; i++) top.labelFor('t', 'busy-2');
    expect(top.labelFor('t', 'busy-1', false)).toBe(OTHER); // not before the window ends
    now = 1000;
    expect(top.labelFor('t', 'busy-1')).toBe('busy-1');
    expect(top.labelFor('t', 'busy-2')).toBe('busy-2');
    expect(top.labelFor('t', 'early-a')).toBe(OTHER);
    expect(demoted).toEqual([[TopModelLabels.key('t', 'early-a'), TopModelLabels.key('t', 'early-b')]]);
  });

  it('lets old traffic fade: a score halves every window', () => {
    const top = make(1);
    for (let i = 0; i < 100; i++) top.labelFor('t', 'old');
    now = 1000;
    top.rebalance();
    expect(top.isMember('t', 'old')).toBe(true);
    // 'new' gets 30 a window; 'old' keeps 100, 50, 25, ... of its past.
    for (let w = 0; w < 3; w++) {
      for (let i = 0; i < 30; i++) top.labelFor('t', 'new', true);
      now += 1000;
      top.rebalance();
    }
    expect(top.isMember('t', 'new')).toBe(true);
    expect(top.isMember('t', 'old')).toBe(false);
  });

  it('does not flap on ties: a member keeps its label against an equal newcomer', () => {
    const top = make(1);
    top.labelFor('t', 'a');
    top.labelFor('t', 'b');
    now = 1000;
    top.rebalance();
    expect(top.isMember('t', 'a')).toBe(true);
  });

  it('gives nobody a label when N is 0', () => {
    const top = make(0);
    expect(top.labelFor('t', 'a')).toBe(OTHER);
    expect(top.size).toBe(0);
  });

  it('stays bounded at any number of models', () => {
    const top = make(20);
    const seen = new Set<string>();
    for (let round = 0; round < 5; round++) {
      for (let m = 0; m < 5000; m++) seen.add(top.labelFor(`t${m % 7}`, `model-${m}`));
      now += 1000;
    }
    expect(top.size).toBeLessThanOrEqual(20);
    // Over several windows some names come and go, but at most N hold a label at once.
    expect(seen.has(OTHER)).toBe(true);
  });
});
