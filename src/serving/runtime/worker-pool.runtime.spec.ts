import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { buildLinearModel, buildRowCenteringModel, buildRowThresholdModel, buildSlowLinearModel } from '../../../test/fixtures/onnx-builder';
import type { Worker } from 'node:worker_threads';
import { threadNiceValues } from '../../../test/support/thread-nice';
import { BackgroundCallDropped, RunOutcome } from './inference-runtime';
import { WorkerPoolRuntime } from './worker-pool.runtime';

/** The worker pool with real worker threads and onnxruntime, on a real ONNX file. */
describe('WorkerPoolRuntime', () => {
  let dir: string;
  let file: string;
  let runtime: WorkerPoolRuntime;
  const model = buildLinearModel({ weights: [1, 2], bias: 0.5 });
  const feeds = () => [[{ name: model.inputName, type: 'float32', dims: [1, 2], data: new Float32Array([1, 1]) }]];
  const answerOf = async (pool: WorkerPoolRuntime, handle: Parameters<WorkerPoolRuntime['run']>[0]) => (await pool.run(handle, feeds(), true)).parts[0];
  const answer = (handle: Parameters<WorkerPoolRuntime['run']>[0]) => answerOf(runtime, handle);

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-pool-'));
    file = path.join(dir, 'linear.onnx');
    fs.writeFileSync(file, model.bytes);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => (runtime = new WorkerPoolRuntime(2)));
  afterEach(() => runtime.close());

  it('starts its workers when the application has booted, or at the first load, not before', async () => {
    expect(runtime.workers()).toEqual([]);
    runtime.onApplicationBootstrap();
    expect(runtime.workers().map((w) => w.worker)).toEqual([0, 1]);
    runtime.onApplicationBootstrap(); // once only
    expect(runtime.workers()).toHaveLength(2);
    const other = new WorkerPoolRuntime(1);
    try {
      expect(other.workers()).toEqual([]);
      expect(await answerOf(other, await other.load('v1', file, 1000))).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
      expect(other.workers()).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('lets a starting worker finish loading onnxruntime before it terminates it (a shutdown right after boot)', async () => {
    runtime.onApplicationBootstrap();
    const workers = (runtime as unknown as { slots: Array<{ worker: Worker }> }).slots.map((s) => s.worker);
    const ready = new Set<Worker>();
    const readyWhenTerminated: boolean[] = [];
    for (const worker of workers) {
      worker.on('message', (message: { type: string }) => message.type === 'ready' && ready.add(worker));
      const terminate = worker.terminate.bind(worker);
      worker.terminate = () => (readyWhenTerminated.push(ready.has(worker)), terminate());
    }
    await runtime.close();
    expect(readyWhenTerminated).toEqual([true, true]);
  });

  (process.platform === 'linux' ? it : it.skip)('runs its workers the given nice levels below the HTTP thread (Linux)', async () => {
    await runtime.close();
    runtime = new WorkerPoolRuntime(2, { nice: 6 });
    // A load answered by each worker: both are running (a model goes to the emptier one).
    const loaded = [await runtime.load('a', file, 1000), await runtime.load('b', file, 1000)];
    expect(loaded.map((h) => h.worker).sort()).toEqual([0, 1]);
    const nice = threadNiceValues();
    const base = os.getPriority(0);
    const niced = [...nice.values()].filter((value) => value === Math.min(19, base + 6));
    // The two workers, and any thread one of them started since (onnxruntime's), which inherits it.
    expect(niced.length).toBeGreaterThanOrEqual(2);
    expect(nice.get(String(process.pid))).toBe(base);
  });

  it('keeps a session loaded again while its retiring handle still held it, and counts it once', async () => {
    const old = await runtime.load('v1', file, 1000);
    const again = await runtime.load('v1', file, 1000); // evicted while busy, then requested again
    expect(again.worker).toBe(old.worker);
    // 1000 as placed, plus what the worker found: its weight [2, 1] packed as [2, 16] (packed-weights.ts).
    expect(old.extraBytes).toBe(2 * 15 * 4);
    expect(again.extraBytes).toBe(2 * 15 * 4);
    expect(runtime.workers()[old.worker]).toMatchObject({ models: 1, bytes: 1000 + 2 * 15 * 4 });
    runtime.unload(old); // the old entry's last request ended
    expect(await answer(again)).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
    runtime.unload(again);
    expect(runtime.workers().map((w) => [w.models, w.bytes])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('serves a load that was on its way when the last holder let go', async () => {
    await runtime.close();
    runtime = new WorkerPoolRuntime(1); // one worker: the load and the unload meet in it
    const old = await runtime.load('v1', file, 1000);
    const loading = runtime.load('v1', file, 1000);
    runtime.unload(old);
    expect(await answer(await loading)).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
  });

  it('loads a key anew after its last holder let go', async () => {
    const first = await runtime.load('v1', file, 1000);
    runtime.unload(first);
    const second = await runtime.load('v1', file, 1000);
    expect(await answer(second)).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
  });

  it('loads a file only when its bytes have the digest it is stored under', async () => {
    const sha256 = createHash('sha256').update(model.bytes).digest('hex');
    expect(await answer(await runtime.load('v1', file, 1000, sha256))).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
    // Another valid model in its place: served as the registered one without the check.
    const replaced = path.join(dir, 'replaced.onnx');
    fs.writeFileSync(replaced, buildLinearModel({ weights: [5, 5], bias: 0 }).bytes);
    await expect(runtime.load('v2', replaced, 1000, sha256)).rejects.toThrow(`does not have its SHA-256 (${sha256.slice(0, 12)}…, read `);
    expect(runtime.workers().reduce((n, w) => n + w.models, 0)).toBe(1);
  });

  it('neither merges requests nor cuts a big one into chunks for a model whose rows depend on each other', async () => {
    const centering = buildRowCenteringModel(2);
    const centeringFile = path.join(dir, 'centering.onnx');
    fs.writeFileSync(centeringFile, centering.bytes);
    const x = (rows: number[][]) => [{ name: 'x', type: 'float32', dims: [rows.length, 2], data: Float32Array.from(rows.flat()) }];
    const handle = await runtime.load('centering', centeringFile, 1000);
    // Two requests of one row each, merged by the micro-batcher: each must be answered as if alone.
    const merged = await runtime.run(handle, [x([[100, 100]]), x([[0, 0]])], true);
    expect(merged.unbatchable).toBe(true);
    expect(merged.parts.map((p) => ('outputs' in p ? Array.from(p.outputs[0].data as Float32Array) : p))).toEqual([
      [0, 0],
      [0, 0],
    ]);
    // A request big enough to be cut into chunks (65,536 values each) on a fresh session: one call over all its rows.
    const again = await runtime.load('centering-2', centeringFile, 1000);
    // Half zeros, half tens: the mean over all rows is 5; each chunk's own mean would not be.
    const rows = Array.from({ length: 40_000 }, (_, i) => (i < 20_000 ? [0, 0] : [10, -10]));
    const big = await runtime.run(again, [x(rows)], true);
    expect(big.unbatchable).toBe(true);
    const out = 'outputs' in big.parts[0] ? Array.from(big.parts[0].outputs[0].data as Float32Array) : [];
    expect(out).toEqual(centering.expected(rows).flat());
  });

  it("never merges or chunks a model whose graph mixes rows, though two small rows together pass the experiment", async () => {
    // y = x + relu(sum(x over the call's rows) - 1000): small rows meet without effect.
    const threshold = buildRowThresholdModel();
    const file = path.join(dir, 'threshold.onnx');
    fs.writeFileSync(file, threshold.bytes);
    const x = (rows: number[][]) => [{ name: 'x', type: 'float32', dims: [rows.length, 1], data: Float32Array.from(rows.flat()) }];
    const values = (outcome: RunOutcome) => outcome.parts.map((p) => ('outputs' in p ? Array.from(p.outputs[0].data as Float32Array) : p));
    const handle = await runtime.load('threshold', file, 1000);
    const small = await runtime.run(handle, [x([[1]]), x([[2]])], true);
    expect(small.unbatchable).toBe(true); // from the graph, before any experiment could pass
    expect(values(small)).toEqual([[1], [2]]);
    expect(values(await runtime.run(handle, [x([[2]]), x([[5000]])], true))).toEqual([[2], [9000]]);
    // Big enough to be cut into chunks: one call over all its rows, as the model answers it.
    const rows = Array.from({ length: 70_000 }, () => [0.05]);
    const [answer] = values(await runtime.run(handle, [x(rows)], true)) as number[][];
    expect(new Set(answer).size).toBe(1); // every row gets the same excess: the whole call's
    expect(answer[0]).toBeCloseTo(0.05 + 70_000 * 0.05 - 1000, -1); // float32 sums drift by a few units
  });

  it('forgets a load that failed', async () => {
    await expect(runtime.load('broken', path.join(dir, 'missing.onnx'), 1000)).rejects.toThrow();
    expect(runtime.workers().map((w) => [w.models, w.bytes])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  describe('background calls (mirrored shadow runs)', () => {
    /** A shadow that holds its worker for ~100 ms a call (a loop of 100,000 steps). */
    const slow = buildSlowLinearModel({ weights: [1, 2], bias: 0.5, iterations: 100_000 });
    let slowFile: string;
    beforeAll(() => {
      slowFile = path.join(dir, 'slow.onnx');
      fs.writeFileSync(slowFile, slow.bytes);
    });

    it('runs a request before the background calls queued ahead of it, which then run one at a time', async () => {
      await runtime.close();
      runtime = new WorkerPoolRuntime(1);
      const [shadow, primary] = [await runtime.load('shadow', slowFile, 1000), await runtime.load('primary', file, 1000)];
      const finished: string[] = [];
      const track = (name: string, call: Promise<RunOutcome>) => call.then((outcome) => (finished.push(name), outcome));
      const shadows = [1, 2, 3].map((n) => track(`shadow ${n}`, runtime.run(shadow, feeds(), true, 'background')));
      expect(runtime.workers()[0].pending).toBe(1); // only the first went to the worker, which was idle
      const request = track('request', runtime.run(primary, feeds(), true));
      expect((await request).parts[0]).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
      for (const outcome of await Promise.all(shadows)) expect(outcome.parts[0]).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
      // The request waited for the shadow call under way, never for the two queued behind it.
      expect(finished).toEqual(['shadow 1', 'request', 'shadow 2', 'shadow 3']);
    });

    it('drops a background call that found no idle moment in time, unrun', async () => {
      await runtime.close();
      runtime = new WorkerPoolRuntime(1, { nice: 0, backgroundMaxWaitMs: 20 });
      const shadow = await runtime.load('shadow', slowFile, 1000);
      const first = runtime.run(shadow, feeds(), true, 'background');
      const second = runtime.run(shadow, feeds(), true, 'background');
      await expect(second).rejects.toBeInstanceOf(BackgroundCallDropped);
      expect((await first).parts[0]).toEqual({ outputs: [expect.objectContaining({ data: new Float32Array([3.5]) })] });
      expect(runtime.workers()[0].pending).toBe(0);
    });
  });
});
