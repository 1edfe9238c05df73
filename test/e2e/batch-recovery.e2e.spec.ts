import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultFixtures, RETAIL_FEATURES, randomRows } from '../fixtures/onnx-builder';
import { readOutput, Row, waitForJob, writeInput } from '../support/batch-data';
import { RunningProcess, runNode, spawnNode } from '../support/processes';
import { artifactForm, filesUnder, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(180_000);

const FEATURES = [...RETAIL_FEATURES];
const fixtures = defaultFixtures();
const MODELS = { 'demand-linear': fixtures.linear, 'demand-tree': fixtures.tree, 'demand-mlp': fixtures.mlp } as const;
const NAMES = Object.keys(MODELS) as Array<keyof typeof MODELS>;
const usesPostgres = Boolean(process.env.DATABASE_URL);

function makeRows(count: number, seed: number): Row[] {
  return randomRows(count, 6, seed, 0, 60).map((features, i) => ({
    id: `row-${i}`,
    model: NAMES[i % 3],
    ...Object.fromEntries(FEATURES.map((f, j) => [f, features[j]])),
  }));
}

/** Exactly once: every input row is in the output once, with its model's prediction, and nothing else is. */
function expectExactlyOnce(input: Row[], output: Row[]): void {
  expect(output.length).toBe(input.length);
  const seen = new Map<string, Row>();
  for (const row of output) {
    expect(seen.has(String(row.id))).toBe(false);
    seen.set(String(row.id), row);
  }
  const byModel = new Map<string, Row[]>();
  for (const row of input) byModel.set(String(row.model), [...(byModel.get(String(row.model)) ?? []), row]);
  for (const [model, rows] of byModel) {
    const expected = MODELS[model as keyof typeof MODELS].expected(rows.map((r) => FEATURES.map((f) => Number(r[f]))));
    rows.forEach((row, i) => {
      const got = seen.get(String(row.id));
      expect(got?.model).toBe(model);
      expect(Number(got!.variable)).toBeCloseTo(expected[i][0], 3);
    });
  }
}

const JOB = {
  input: { uri: 'in/stores.csv', format: 'csv' },
  route: { by: 'model', column: 'model' },
  features: FEATURES,
  passthrough: ['id'],
  output: { format: 'csv' },
  // Small inference calls and two partitions at a time: slow enough to be killed halfway.
  miniBatchSize: 25,
  maxConcurrency: 2,
};

async function registerModels(t: TestApp): Promise<void> {
  for (const name of NAMES) expect((await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(MODELS[name].bytes) })).status).toBe(201);
}

describe('batch jobs survive SIGKILL', () => {
  let t: TestApp;
  const input = makeRows(24_000, 11);

  beforeAll(async () => {
    t = await startTestApp({ MMS_BATCH_LEASE_SECONDS: '3', MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '400' });
    await registerModels(t);
    writeInput(t, 'in/stores.csv', 'csv', input, ['id', 'model', ...FEATURES]);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('resumes after the server is killed mid-job and writes every input row exactly once', async () => {
    // One row per inference call: a partition takes long enough (hundreds of calls) that the
    // ones running when the job is looked at are still running when the kill lands.
    const res = await t.request('POST', '/v1/batch-jobs', { body: { ...JOB, miniBatchSize: 1 } });
    expect(res.status).toBe(202);
    // Kill while partitions are being scored (not between claims), so an attempt is interrupted.
    const midway = await waitForJob(t, res.body.id, (j) => j.progress.partitions.succeeded >= 4 && j.progress.partitions.running > 0);
    expect(midway.status).toBe('running');
    expect(midway.progress.partitions.total).toBe(60);
    expect(midway.progress.partitions.succeeded).toBeLessThan(60);
    expect(midway.progress.rowsPerSecond).toBeGreaterThan(0);
    expect(midway.progress.etaSeconds).toBeGreaterThan(0);
    await t.stop('SIGKILL');
    await t.restart();

    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.rows).toEqual({ total: 24_000, done: 24_000, succeeded: 24_000, failed: 0 });
    expectExactlyOnce(input, (await readOutput(t, res.body.id, 'csv')).rows);
    // Partitions were running when the server was killed (the wait above): taken over, they show
    // a second attempt in the manifest, yet every row counts once.
    const manifest = (await t.request('GET', `/v1/batch-jobs/${res.body.id}/manifest`)).body;
    expect(manifest.partitions.some((p: { attempts: number }) => p.attempts > 1)).toBe(true);
    expect(manifest.partitions.reduce((sum: number, p: { rowsOut: number }) => sum + p.rowsOut, 0)).toBe(24_000);
    expect(filesUnder(path.join(t.dataDir, 'batch')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('comes out exactly once however often and whenever the server is killed', async () => {
    const res = await t.request('POST', '/v1/batch-jobs', { body: { ...JOB, output: { format: 'jsonl' } } });
    expect(res.status).toBe(202);
    // Killed while queued or planning, then while scoring, then again as soon as it runs.
    for (const delayMs of [30, 1500, 700]) {
      await new Promise((r) => setTimeout(r, delayMs));
      await t.stop('SIGKILL');
      await t.restart();
    }
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expectExactlyOnce(input, (await readOutput(t, res.body.id, 'jsonl')).rows);
  });
});

(usesPostgres ? describe : describe.skip)('batch worker processes (npm run worker, DATABASE_URL)', () => {
  let t: TestApp;
  const workers: RunningProcess[] = [];
  const input = makeRows(16_000, 12);
  const startWorker = async () => {
    const { proc } = await spawnNode('src/batch/worker-main.js', [], { ...t.env, MMS_BATCH_CONCURRENCY: '2' }, /batch worker ready/);
    workers.push(proc);
    return proc;
  };

  beforeAll(async () => {
    // The server only takes requests; the queue is worked by separate worker processes.
    t = await startTestApp({ MMS_BATCH_CONCURRENCY: '0', MMS_BATCH_LEASE_SECONDS: '3', MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '400' });
    await registerModels(t);
    writeInput(t, 'in/stores.csv', 'csv', input, ['id', 'model', ...FEATURES]);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await t?.dispose();
  });

  it('scores on worker processes, and another worker finishes the job when one is SIGKILLed', async () => {
    const doomed = await startWorker();
    const res = await t.request('POST', '/v1/batch-jobs', { body: { ...JOB, output: { format: 'parquet' } } });
    expect(res.status).toBe(202);
    await waitForJob(t, res.body.id, (j) => j.progress.partitions.succeeded >= 3);
    await startWorker();
    await doomed.stop('SIGKILL');
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expectExactlyOnce(input, (await readOutput(t, res.body.id, 'parquet')).rows);
  });
});

(usesPostgres ? describe.skip : describe)('batch worker process on the embedded database', () => {
  it('refuses to start: the embedded database belongs to the server', async () => {
    const { code, output } = await runNode('src/batch/worker-main.js', [], { DATABASE_URL: '', MMS_DATA_DIR: fs.mkdtempSync('/tmp/mms-worker-') });
    expect(code).toBe(1);
    expect(output).toContain('npm run worker needs DATABASE_URL');
  });
});
