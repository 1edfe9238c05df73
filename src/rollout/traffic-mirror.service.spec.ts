import { ShadowMonitor } from './shadow-monitor';
import { MIRROR_MAX_IN_FLIGHT, TrafficMirror } from './traffic-mirror.service';
import { TrafficRule } from './traffic-rule';
import { TrafficRulesStore } from './traffic-rules.store';

describe('TrafficMirror', () => {
  const rule: TrafficRule = { modelId: 'm', tenantId: 't', split: [{ version: 1, weight: 100 }], mirror: { version: 2, percent: 100 }, updatedAt: new Date(), updatedBy: 'root' };
  const rules = { ruleOf: (id: string) => (id === 'm' ? rule : undefined) } as unknown as TrafficRulesStore;
  const flush = () => new Promise((r) => setImmediate(r));
  const served = (modelId: string, version: number) => ({ modelId, tenantId: 't', model: modelId, version });

  it('sheds mirrored calls first once too many are in flight, and never touches the primary', async () => {
    const shadows = new ShadowMonitor();
    const mirror = new TrafficMirror(rules, shadows);
    const pending: Array<() => void> = [];
    let started = 0;
    for (let i = 0; i < MIRROR_MAX_IN_FLIGHT + 10; i++) {
      const plan = mirror.plan(served('m', 1));
      if (!plan) continue;
      mirror.start(plan, { y: [1] }, () => {
        started++;
        return new Promise((resolve) => pending.push(() => resolve({ y: [1] })));
      });
    }
    await flush();
    expect(started).toBe(MIRROR_MAX_IN_FLIGHT);
    expect(mirror.shed).toBe(10);
    pending.forEach((done) => done());
    await flush();
    await flush();
    expect(mirror.plan(served('m', 1))).not.toBeNull(); // room again once they finish
    expect(shadows.figuresOf('m')[0]).toMatchObject({ count: MIRROR_MAX_IN_FLIGHT, shadowErrors: 0 });
  });

  it('does not mirror a model without a mirror, or a request the shadow version served itself', () => {
    const mirror = new TrafficMirror(rules, new ShadowMonitor());
    expect(mirror.plan(served('other', 1))).toBeNull();
    expect(mirror.plan(served('m', 2))).toBeNull();
  });

  it('counts a failing shadow as an error, not a failed request', async () => {
    const shadows = new ShadowMonitor();
    const mirror = new TrafficMirror(rules, shadows);
    mirror.start(mirror.plan(served('m', 1))!, { y: [1] }, () => Promise.reject(new Error('cannot load')));
    await flush();
    await flush();
    expect(shadows.figuresOf('m')[0]).toMatchObject({ count: 1, shadowErrors: 1 });
  });

  it('counts a shadow call dropped unrun (its worker never idle in time) as shed, not as a shadow error', async () => {
    const shadows = new ShadowMonitor();
    const mirror = new TrafficMirror(rules, shadows);
    mirror.start(mirror.plan(served('m', 1))!, { y: [1] }, () => Promise.resolve(null));
    await flush();
    await flush();
    expect(mirror.shed).toBe(1);
    expect(shadows.figuresOf('m')[0]).toMatchObject({ count: 0, shadowErrors: 0 });
    expect(mirror.plan(served('m', 1))).not.toBeNull();
  });
});
