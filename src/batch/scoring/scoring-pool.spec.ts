import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostTensor } from '../../serving/tensor-codec';
import { ServingError, ServingErrorCode } from '../../serving/serving.error';
import { StoppedError } from '../work-lease';
import type { ScoreTask } from './score-partition';
import { threadNiceValues } from '../../../test/support/thread-nice';
import { ScoringPool } from './scoring-pool';

/** A partition of `rows` staging rows ([row number, id, six features]) and where its output goes. */
function partition(dir: string, name: string, rows: number): ScoreTask {
  const lines = Array.from({ length: rows }, (_, i) => JSON.stringify([i + 1, `id-${i}`, ...[1, 2, 3, 4, 5, 6].map((f) => String(i + f / 10))]));
  const inputFile = path.join(dir, `${name}.jsonl`);
  fs.writeFileSync(inputFile, lines.join('\n') + '\n');
  return {
    model: 'm',
    version: 3,
    inputs: [{ name: 'float_input', type: 'float32', shape: ['N', 6] }],
    outputs: [{ name: 'variable', type: 'float32', shape: ['N', 1] }],
    features: ['a', 'b', 'c', 'd', 'e', 'f'],
    passthrough: ['id'],
    miniBatchSize: 40,
    outputFormat: 'csv',
    columns: [
      { name: 'id', type: 'passthrough' },
      { name: 'model', type: 'string' },
      { name: 'version', type: 'int32' },
      { name: 'variable', type: 'float' },
    ],
    inputFile,
    tempFile: path.join(dir, `${name}.tmp`),
  };
}

/** Stands in for serving's inference: the first feature times two. */
async function double(feeds: HostTensor[]): Promise<HostTensor[]> {
  const [x] = feeds;
  const n = x.dims[0];
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = (x.data as Float32Array)[i * 6] * 2;
  return [{ name: 'variable', type: 'float32', dims: [n, 1], data: y }];
}

async function waitFor(condition: () => boolean): Promise<void> {
  const until = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ScoringPool (scoring threads)', () => {
  let dir: string;
  let pool: ScoringPool;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-scoring-'));
    pool = new ScoringPool(2);
  });
  afterEach(async () => {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scores partitions side by side on its threads, each mini-batch through predict, into the attempt file', async () => {
    const calls: number[] = [];
    const predict = (feeds: HostTensor[]) => {
      calls.push(feeds[0].dims[0]);
      return double(feeds);
    };
    const [a, b] = await Promise.all([pool.score(partition(dir, 'a', 100), predict), pool.score(partition(dir, 'b', 7), predict)]);
    expect(a).toMatchObject({ rowsOut: 100, rowsFailed: 0, columnsWritten: 4, checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(b.rowsOut).toBe(7);
    expect(calls.sort((x, y) => x - y)).toEqual([7, 20, 40, 40]);
    const lines = fs.readFileSync(path.join(dir, 'a.tmp'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(100);
    expect(lines[3]).toBe('id-3,m,3,6.2');
    expect(a.bytesOut).toBe(fs.statSync(path.join(dir, 'a.tmp')).size);
  });

  it('fails the partition when inference fails, naming the rows, and leaves no file behind', async () => {
    const task = partition(dir, 'c', 100);
    let n = 0;
    const failing = (feeds: HostTensor[]) => (++n === 2 ? Promise.reject(new Error('the model exploded')) : double(feeds));
    await expect(pool.score(task, failing)).rejects.toThrow('inference failed on rows 41–80: the model exploded');
    expect(fs.existsSync(task.tempFile)).toBe(false);
  });

  it('fails only the rows the runtime refuses, finding them in their mini-batch, and writes the others', async () => {
    const task = partition(dir, 'refusing', 100);
    const calls: number[] = [];
    // Row 57 (first feature 56.1) is refused, like an index out of a Gather's range; a refused call refuses its whole batch.
    const refusing = (feeds: HostTensor[]) => {
      calls.push(feeds[0].dims[0]);
      const firsts = Array.from({ length: feeds[0].dims[0] }, (_, i) => (feeds[0].data as Float32Array)[i * 6]);
      if (firsts.some((v) => Math.floor(v) === 56)) return Promise.reject(new ServingError(ServingErrorCode.InferenceFailed, 'indices element out of data bounds, idx=12'));
      return double(feeds);
    };
    const result = await pool.score(task, refusing);
    expect(result).toMatchObject({ rowsOut: 99, rowsFailed: 1, rowErrors: [{ row: 57, message: 'the model could not compute this row: indices element out of data bounds, idx=12' }] });
    const ids = fs.readFileSync(task.tempFile, 'utf8').trimEnd().split('\n').map((line) => line.split(',')[0]);
    expect(ids).toHaveLength(99);
    expect(ids).not.toContain('id-56');
    expect(ids.slice(55, 57)).toEqual(['id-55', 'id-57']); // in order
    // The refused mini-batch of 40 was halved down to the one row: a few calls, not one per row.
    expect(calls.length).toBeLessThan(3 + 2 * 7);
  });

  it('fails every row of a model that refuses them all, without failing the partition', async () => {
    const task = partition(dir, 'refusing-all', 100);
    const refusingAll = () => Promise.reject(new ServingError(ServingErrorCode.InferenceFailed, 'no'));
    expect(await pool.score(task, refusingAll)).toMatchObject({ rowsOut: 0, rowsFailed: 100 });
  });

  it('stops when the lease is lost (StoppedError from predict), without writing the output', async () => {
    const task = partition(dir, 'd', 100);
    const stopped = () => Promise.reject(new StoppedError('lease lost'));
    const error = await pool.score(task, stopped).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoppedError);
    expect((error as Error).message).toBe('lease lost');
    expect(fs.existsSync(task.tempFile)).toBe(false);
  });

  /** Partitions scored through `on`, each held at inference until its gate opens. */
  const gatedRuns = (on: ScoringPool, names: string[], rows: number) => {
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const gated = (name: string) => async (feeds: HostTensor[]) => {
      started.push(name);
      await new Promise<void>((r) => gates.set(name, r));
      return double(feeds);
    };
    const runs = names.map((name) => on.score(partition(dir, name, 10), gated(name), rows));
    return { started, runs, open: (name: string) => gates.get(name)!() };
  };

  (process.platform === 'linux' ? it : it.skip)('runs its threads the given nice levels below the HTTP thread (Linux)', async () => {
    const base = os.getPriority(0);
    const before = new Set(threadNiceValues().keys());
    const niced = new ScoringPool(2, Infinity, { nice: 7 });
    try {
      // Two partitions side by side: one on each thread, both started.
      await Promise.all([niced.score(partition(dir, 'a', 5), double), niced.score(partition(dir, 'b', 5), double)]);
      const started = [...threadNiceValues()].filter(([tid]) => !before.has(tid));
      expect(started.filter(([, value]) => value === Math.min(19, base + 7)).length).toBeGreaterThanOrEqual(2);
      expect(threadNiceValues().get(String(process.pid))).toBe(base);
    } finally {
      await niced.close();
    }
  });

  it('runs at most four partitions per thread; the others wait for room', async () => {
    const one = new ScoringPool(1);
    try {
      const { started, runs, open } = gatedRuns(one, ['p', 'q', 'r', 's', 't'], 10);
      await waitFor(() => started.length === 4);
      await new Promise((r) => setTimeout(r, 100));
      // Four run side by side (which reaches inference first is a race); t waits for room.
      expect([...started].sort()).toEqual(['p', 'q', 'r', 's']);
      open('p');
      await runs[0];
      await waitFor(() => started.length === 5);
      for (const name of ['q', 'r', 's', 't']) open(name);
      expect((await Promise.all(runs)).map((r) => r.rowsOut)).toEqual([10, 10, 10, 10, 10]);
    } finally {
      await one.close();
    }
  });

  it('keeps the partitions running together within the row budget, but always runs one', async () => {
    const one = new ScoringPool(1, 25);
    try {
      const { started, runs, open } = gatedRuns(one, ['p', 'q', 'r'], 10);
      await waitFor(() => started.length === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect([...started].sort()).toEqual(['p', 'q']); // 20 rows; r's 10 more would pass 25
      open('p');
      await runs[0];
      await waitFor(() => started.length === 3);
      open('q');
      open('r');
      await Promise.all(runs);
      // A partition bigger than the whole budget still runs, alone.
      const big = gatedRuns(one, ['huge'], 100);
      await waitFor(() => big.started.length === 1);
      big.open('huge');
      expect((await big.runs[0]).rowsOut).toBe(10);
    } finally {
      await one.close();
    }
  });

  it('ends running and waiting partitions as stopped when it shuts down (no failed attempt to record)', async () => {
    const running = pool.score(partition(dir, 'g', 100), () => new Promise<HostTensor[]>(() => undefined));
    await new Promise((r) => setTimeout(r, 200));
    await pool.close();
    await expect(running).rejects.toBeInstanceOf(StoppedError);
    await expect(pool.score(partition(dir, 'h', 10), double)).rejects.toBeInstanceOf(StoppedError);
  });

  it('fails the partitions of a thread that dies, and starts a new thread for the next ones', async () => {
    const task = partition(dir, 'e', 100);
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    const running = pool.score(task, async (feeds) => {
      await stalled;
      return double(feeds);
    });
    // The thread with the running partition is terminated from outside (as a crash would end it).
    await new Promise((r) => setTimeout(r, 200));
    const threads = (pool as unknown as { threads: Array<{ worker: { terminate(): Promise<number> }; running: Map<number, unknown> } | null> }).threads;
    await threads.find((t) => t?.running.size)!.worker.terminate();
    await expect(running).rejects.toThrow('the scoring thread stopped');
    release();
    expect((await pool.score(partition(dir, 'f', 10), double)).rowsOut).toBe(10);
  });
});
