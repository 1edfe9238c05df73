import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import type { ServableVersion } from '../serving/servable';
import type { BatchRepository } from './batch.repository';
import type { BatchPredictor } from './predictor/batch-predictor';
import { NOT_AN_OBJECT } from './io/input-reader';
import { RouteResolver } from './route-resolver';

const ctx: AuthContext = { tenantId: 't', role: 'publisher', principal: 'p', keyId: null, via: 'key', modelScope: null };

describe('RouteResolver', () => {
  /** The registry as serving sees it now: model name → current version (changed by the tests while a job plans). */
  let current: Map<string, number>;
  let lookups: number;
  let failNext: boolean;
  const predictor = {
    resolve: async (_ctx: AuthContext, selector: { model: string }) => {
      lookups++;
      if (failNext) {
        failNext = false;
        throw new Error('connection reset');
      }
      const version = current.get(selector.model);
      if (version === undefined) throw new DomainError('MODEL_NOT_FOUND', `Model '${selector.model}' not found`);
      return { id: `${selector.model}@${version}`, model: selector.model, version, modelSha256: 'x', signature: { inputs: [], outputs: [] }, mlflow: null } as unknown as ServableVersion;
    },
  } as unknown as BatchPredictor;
  const repository = {
    segmentedModels: async () => [
      { name: 'region-north', segment: { region: 'north' } },
      { name: 'store-1', segment: { region: 'north', store: '1' } },
    ],
  } as unknown as BatchRepository;

  beforeEach(() => {
    current = new Map([
      ['region-north', 1],
      ['store-1', 1],
    ]);
    lookups = 0;
    failNext = false;
  });

  const versionOf = (r: unknown) => (r as { pin: { version: number } }).pin.version;

  it('gives every route that leads to one model the version found first, though the registry changes while planning', async () => {
    const routes = await RouteResolver.prepare(repository, predictor, ctx, { by: 'segment', columns: ['region', 'store'] }, []);
    expect(versionOf(await routes.resolve(JSON.stringify(['north', '2'])))).toBe(1); // no store model: the region's
    current.set('region-north', 2); // promoted while the input is still being read
    expect(versionOf(await routes.resolve(JSON.stringify(['north', '3'])))).toBe(1);
    expect(versionOf(await routes.resolve(JSON.stringify(['north', '1'])))).toBe(1); // store-1's own model
    expect(lookups).toBe(2);
  });

  it('answers rows from JSONL lines that are not objects with that reason, by either route', async () => {
    const byModel = await RouteResolver.prepare(repository, predictor, ctx, { by: 'model', column: 'model' }, []);
    expect(await byModel.resolve(NOT_AN_OBJECT)).toEqual({ error: expect.stringMatching(/^INVALID_INPUT_LINE: the lines are not JSON objects/) });
    const bySegment = await RouteResolver.prepare(repository, predictor, ctx, { by: 'segment', columns: ['region', 'store'] }, []);
    expect(await bySegment.resolve(JSON.stringify([NOT_AN_OBJECT, NOT_AN_OBJECT]))).toEqual({ error: expect.stringMatching(/^INVALID_INPUT_LINE/) });
    expect(lookups).toBe(0);
  });

  it('keeps a missing model as an answer, and tries a lookup that failed for another reason again', async () => {
    const routes = await RouteResolver.prepare(repository, predictor, ctx, { by: 'model', column: 'model' }, []);
    expect(await routes.resolve('nope')).toEqual({ error: "MODEL_NOT_FOUND: Model 'nope' not found" });
    failNext = true;
    await expect(routes.resolve('store-1')).rejects.toThrow('connection reset');
    expect(versionOf(await routes.resolve('store-1'))).toBe(1);
    await routes.resolve('nope');
    expect(lookups).toBe(3);
  });
});
