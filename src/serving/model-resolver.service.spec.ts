import type { AuthContext } from '../auth/auth-context';
import { ModelResolver } from './model-resolver.service';
import { toServableModel } from './servable';
import type { ServingRepository } from './serving.repository';
import { NoTrafficRouter, TrafficRouter } from './traffic-router';

const signature = { inputs: [{ name: 'x', type: 'float32', shape: ['N', 2] }], outputs: [{ name: 'y', type: 'float32', shape: ['N', 1] }] };
const row = (aliases: Record<string, number>, versions = [1, 2, 3]) => ({
  id: 'm',
  name: 'demand',
  segment: {},
  versions: versions.map((version) => ({ id: `v${version}`, version, modelSha256: 'a'.repeat(64), signature, mlflow: null })),
  aliases,
});
const ctx: AuthContext = { tenantId: 't1', role: 'scorer', principal: 'key:1', keyId: '1', via: 'key', modelScope: ['demand*'] };

describe('ModelResolver version rule', () => {
  const repository = {
    findServingModel: jest.fn(async () => row({ production: 2 })),
    findSegmentCandidates: jest.fn(async () => [
      { name: 'demand', segment: { region: 'north' } },
      { name: 'other-north', segment: { region: 'north', store: '1' } },
    ]),
  };
  const resolver = (traffic: TrafficRouter = new NoTrafficRouter()) => new ModelResolver(repository as unknown as ServingRepository, traffic);

  it('takes an explicit version, then an alias, then the traffic rule, then production, then the latest', () => {
    const r = resolver();
    const model = toServableModel('t1', row({ production: 2, staging: 1 }));
    expect(r.selectVersion(model, { version: 3 }).version).toBe(3);
    expect(r.selectVersion(model, { alias: 'staging' }).version).toBe(1);
    expect(r.selectVersion(model, {}).version).toBe(2);
    expect(r.selectVersion(toServableModel('t1', row({})), {}).version).toBe(3);
    const routed = resolver({ route: () => 1 });
    expect(routed.selectVersion(model, {}).version).toBe(1);
    expect(routed.selectVersion(model, { alias: 'production' }).version).toBe(2);
  });

  it('answers 404s for missing versions and aliases, and for a model without versions', () => {
    const r = resolver();
    const model = toServableModel('t1', row({}));
    expect(() => r.selectVersion(model, { version: 9 })).toThrow(expect.objectContaining({ code: 'VERSION_NOT_FOUND' }));
    expect(() => r.selectVersion(model, { alias: 'canary' })).toThrow(expect.objectContaining({ code: 'ALIAS_NOT_FOUND' }));
    expect(() => r.selectVersion(toServableModel('t1', row({}, [])), {})).toThrow(expect.objectContaining({ code: 'VERSION_NOT_FOUND' }));
  });

  it('resolves from memory after the first lookup, until a registry change', async () => {
    const r = resolver();
    repository.findServingModel.mockClear();
    await r.resolve(ctx, { model: 'demand' });
    await r.resolve(ctx, { model: 'demand', version: 1 });
    expect(repository.findServingModel).toHaveBeenCalledTimes(1);
    r.invalidate({ tenantId: 't1', model: 'demand', kind: 'alias-set' });
    await r.resolve(ctx, { model: 'demand' });
    expect(repository.findServingModel).toHaveBeenCalledTimes(2);
  });

  it("hides models outside a key's scope, also from segment matching", async () => {
    const r = resolver();
    await expect(r.resolve(ctx, { model: 'other-north' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    // other-north is more specific, but out of scope: the region's model serves.
    await expect(r.resolve(ctx, { segment: { region: 'north', store: '1' } })).resolves.toMatchObject({ model: 'demand' });
    await expect(r.resolve({ ...ctx, modelScope: ['nothing'] }, { segment: { region: 'north' } })).rejects.toMatchObject({ code: 'NO_MODEL_FOR_SEGMENT' });
  });
});
