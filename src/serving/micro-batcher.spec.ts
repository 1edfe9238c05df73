import { MicroBatcher } from './micro-batcher';
import { SessionCache } from './session-cache';
import type { HostTensor } from './tensor-codec';
import { fakeVersion, FakeRuntime } from './testing/fake-runtime';

const rows = (n: number, value = 1): HostTensor[] => [{ name: 'x', type: 'float32', dims: [n, 2], data: new Float32Array(n * 2).fill(value) }];

describe('MicroBatcher', () => {
  let runtime: FakeRuntime;
  let cache: SessionCache;

  beforeEach(() => {
    runtime = new FakeRuntime();
    cache = new SessionCache(runtime, async () => ({ path: '/fake', bytes: 1 }), { maxModels: 10, maxBytes: 1 << 30 });
  });

  const entryOf = async (id: string, batchable = true) => (await cache.acquire(fakeVersion(id, { batchable }))).entry;

  it('merges small requests of one turn into one call and answers each with its own rows', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 100 });
    const entry = await entryOf('a');
    const results = await Promise.all([batcher.submit(entry, rows(1, 1)), batcher.submit(entry, rows(2, 2)), batcher.submit(entry, rows(1, 3))]);
    expect(runtime.calls).toHaveLength(1);
    expect(runtime.calls[0].parts).toHaveLength(3);
    expect(results.map((r) => Array.from(r[0].data as Float32Array))).toEqual([[1, 1], [2, 2, 2, 2], [3, 3]]);
    expect(entry.stats).toMatchObject({ requests: 3, calls: 1 });
  });

  it('keeps models apart', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 100 });
    const [a, b] = [await entryOf('a'), await entryOf('b')];
    await Promise.all([batcher.submit(a, rows(1)), batcher.submit(b, rows(1)), batcher.submit(a, rows(1))]);
    expect(runtime.calls.map((c) => [c.key, c.parts.length])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('merges background calls (mirrored shadow runs) only with each other, so a request never waits in one', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 100 });
    const entry = await entryOf('a');
    const pending = Promise.all([batcher.submit(entry, rows(1), 'background'), batcher.submit(entry, rows(1)), batcher.submit(entry, rows(1), 'background'), batcher.submit(entry, rows(1))]);
    expect([entry.batch?.priority, entry.backgroundBatch?.priority]).toEqual(['normal', 'background']);
    await pending;
    expect(runtime.calls.map((c) => [c.priority, c.parts.length])).toEqual([
      ['background', 2],
      ['normal', 2],
    ]);
    expect([entry.batch, entry.backgroundBatch]).toEqual([undefined, undefined]);
  });

  it('keeps a reloaded session apart from the old one under the same key, and leaves no batch on an entry once sent', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 100 });
    const old = await entryOf('a');
    const reloaded = { ...old, stats: { ...old.stats } };
    const pending = Promise.all([batcher.submit(old, rows(1)), batcher.submit(reloaded, rows(1)), batcher.submit(old, rows(1))]);
    expect(old.batch).toBeDefined();
    expect(reloaded.batch).not.toBe(old.batch);
    await pending;
    expect(runtime.calls.map((c) => c.parts.length)).toEqual([2, 1]);
    expect([old.batch, reloaded.batch]).toEqual([undefined, undefined]);
  });

  it('closes a batch at maxRows and sends big requests alone', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 4 });
    const entry = await entryOf('a');
    await Promise.all([batcher.submit(entry, rows(3)), batcher.submit(entry, rows(2)), batcher.submit(entry, rows(10))]);
    expect(runtime.calls.map((c) => c.parts.map((p) => p[0].dims[0]))).toEqual([[3], [10], [2]]);
  });

  it('waits up to the window for more requests', async () => {
    jest.useFakeTimers();
    try {
      const batcher = new MicroBatcher(runtime, { windowMs: 5, maxRows: 100 });
      const entry = await entryOf('a');
      const first = batcher.submit(entry, rows(1));
      jest.advanceTimersByTime(3);
      const second = batcher.submit(entry, rows(1));
      expect(runtime.calls).toHaveLength(0);
      jest.advanceTimersByTime(2);
      await Promise.all([first, second]);
      expect(runtime.calls).toHaveLength(1);
      expect(runtime.calls[0].parts).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('never merges a model that is not row-independent', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 100 });
    const entry = await entryOf('a', false);
    await Promise.all([batcher.submit(entry, rows(1)), batcher.submit(entry, rows(1))]);
    expect(runtime.calls).toHaveLength(2);
  });

  it('rejects each request whose part failed, and only those', async () => {
    const batcher = new MicroBatcher(runtime, { windowMs: 0, maxRows: 100 });
    const entry = await entryOf('a');
    const runtimeMessage = 'Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(bool) cannot reshape';
    runtime.run = async (_handle, parts) => ({ parts: parts.map((p, i) => (i === 1 ? { error: runtimeMessage } : { outputs: p })), unbatchable: false });
    const results = await Promise.allSettled([batcher.submit(entry, rows(1)), batcher.submit(entry, rows(1))]);
    expect(results[0].status).toBe('fulfilled');
    // The runtime's reason, without where in its C++ sources it was raised.
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'INFERENCE_FAILED', details: { reason: 'Status Message: cannot reshape' } } });
  });
});
