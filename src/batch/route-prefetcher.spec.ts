import type { PinnedVersion } from './batch.types';
import { BatchPredictor } from './predictor/batch-predictor';
import { RoutePrefetcher } from './route-prefetcher';
import type { RouteResolver } from './route-resolver';

const pin = (model: string): PinnedVersion => ({ versionId: `id-${model}`, model, version: 1, modelSha256: 'x', signature: { inputs: [], outputs: [] }, mlflow: null }) as unknown as PinnedVersion;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('RoutePrefetcher', () => {
  let primed: string[][];
  let warmed: string[];
  let room: number;
  const routes = {
    prime: async (keys: string[]) => void primed.push(keys),
    resolve: async (key: string) => (key.startsWith('bad') ? { error: `NO_MODEL_FOR_SEGMENT: ${key}` } : { pin: pin(`m-${key}`) }),
  } as unknown as RouteResolver;
  const predictor = {
    warm: async (version: { model: string }) => {
      if (room-- <= 0) return 'no-room';
      warmed.push(version.model);
      return 'loaded';
    },
  } as unknown as BatchPredictor;

  beforeEach(() => {
    primed = [];
    warmed = [];
    room = 100;
  });

  it('looks up the routes met in one batch of rows together and loads their models in order', async () => {
    const prefetch = new RoutePrefetcher(routes, predictor, 't');
    for (const key of ['a', 'b', 'bad1', 'c', 'a']) prefetch.add(key);
    const resolved = await prefetch.resolutions();
    await settle();
    expect(primed).toEqual([['a', 'b', 'bad1', 'c']]);
    expect([...resolved.keys()]).toEqual(['a', 'b', 'bad1', 'c']);
    expect(resolved.get('bad1')).toEqual({ error: 'NO_MODEL_FOR_SEGMENT: bad1' });
    expect(warmed).toEqual(['m-a', 'm-b', 'm-c']);
  });

  it('stops loading once the cache has no spare room, and after stop()', async () => {
    room = 2;
    const prefetch = new RoutePrefetcher(routes, predictor, 't');
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) prefetch.add(key);
    await prefetch.resolutions();
    await settle();
    expect(warmed).toEqual(['m-a', 'm-b']);

    room = 100;
    const stopped = new RoutePrefetcher(routes, predictor, 't');
    stopped.add('x');
    stopped.stop();
    await expect(stopped.resolutions()).rejects.toThrow('stopped');
    expect(warmed).toEqual(['m-a', 'm-b']);
  });
});
