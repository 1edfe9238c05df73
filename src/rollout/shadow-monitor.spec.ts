import { ShadowMonitor } from './shadow-monitor';

describe('ShadowMonitor', () => {
  it('forgets a deleted model’s figures, and only that model’s', () => {
    const shadows = new ShadowMonitor();
    shadows.pair({ modelId: 'id-1', tenantId: 't', model: 'demand' }, 1, 2).recordError();
    shadows.pair({ modelId: 'id-1', tenantId: 't', model: 'demand' }, 2, 3).recordError();
    shadows.pair({ modelId: 'id-2', tenantId: 't', model: 'other' }, 1, 2).recordError();
    shadows.pair({ modelId: 'id-3', tenantId: 'u', model: 'demand' }, 1, 2).recordError();
    shadows.forgetModel('t', 'demand');
    expect(shadows.figuresOf('id-1')).toEqual([]);
    expect(shadows.all().map((p) => p.modelId).sort()).toEqual(['id-2', 'id-3']);
  });

  it('holds nothing for models deleted and registered again, however many times', () => {
    const shadows = new ShadowMonitor();
    for (let i = 0; i < 100; i++) {
      shadows.pair({ modelId: `id-${i}`, tenantId: 't', model: 'churned' }, 1, 2).recordError();
      shadows.forgetModel('t', 'churned');
    }
    expect(shadows.all()).toEqual([]);
  });
});
