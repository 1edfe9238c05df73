import { ShadowMonitor } from './shadow-monitor';

describe('ShadowMonitor.forgetVersion', () => {
  it("drops the deleted version's pairs, as primary or shadow, of that model only", () => {
    const shadows = new ShadowMonitor();
    const demand = { modelId: 'id-1', tenantId: 't', model: 'demand' };
    shadows.pair(demand, 1, 2).recordError();
    shadows.pair(demand, 2, 3).recordError();
    shadows.pair(demand, 1, 3).recordError();
    shadows.pair({ modelId: 'id-2', tenantId: 't', model: 'other' }, 1, 2).recordError();
    shadows.pair({ modelId: 'id-3', tenantId: 'u', model: 'demand' }, 1, 2).recordError();
    shadows.forgetVersion('t', 'demand', 2);
    expect(shadows.figuresOf('id-1').map((f) => [f.primaryVersion, f.shadowVersion])).toEqual([[1, 3]]);
    expect(shadows.all().map((p) => p.modelId).sort()).toEqual(['id-1', 'id-2', 'id-3']);
  });

  it('holds nothing after a long mirror → promote → delete cycle', () => {
    const shadows = new ShadowMonitor();
    const model = { modelId: 'id-1', tenantId: 't', model: 'nightly' };
    for (let night = 1; night <= 100; night++) {
      shadows.pair(model, night, night + 1).recordError();
      shadows.forgetVersion('t', 'nightly', night);
    }
    expect(shadows.all()).toEqual([]);
  });
});
