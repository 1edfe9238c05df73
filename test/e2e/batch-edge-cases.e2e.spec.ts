import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultFixtures, onnxGraph, RETAIL_FEATURES } from '../fixtures/onnx-builder';
import { readOutput, waitForJob } from '../support/batch-data';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const FEATURES = [...RETAIL_FEATURES];
const fixtures = defaultFixtures();

/** y = sum(x) * weight over six features, exported with a fixed batch (as torch.onnx.export does without dynamic axes). */
function fixedBatchModel(batch: number, weight: number): Buffer {
  return onnxGraph.encode({
    name: `fixed_batch_${batch}`,
    inputs: [{ name: 'float_input', dtype: 'float32', shape: [batch, 6] }],
    outputs: [{ name: 'variable', dtype: 'float32', shape: [batch, 1] }],
    initializers: [onnxGraph.floatTensor('coef', [6, 1], Array(6).fill(weight))],
    nodes: [onnxGraph.node('MatMul', ['float_input', 'coef'], ['variable'])],
  });
}

/** Batch scoring with data files as new users bring them: partial failures must say where they are. */
describe('batch scoring: edge cases of real-world input files', () => {
  let t: TestApp;
  const write = (rel: string, text: string) => {
    const file = path.join(t.dataDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  const run = async (body: object) => {
    const res = await t.request('POST', '/v1/batch-jobs', { body: { route: { by: 'model', column: 'model' }, features: FEATURES, passthrough: ['id'], ...body } });
    expect(res.status).toBe(202);
    return waitForJob(t, res.body.id);
  };

  /** 20,000 rows of one model: 400 partitions of 50, whose commit takes a moment. */
  const writeCommitInput = () => {
    const lines = ['id,model,' + FEATURES.join(',')];
    for (let i = 0; i < 20_000; i++) lines.push(`c${i},demand-linear,1,0,4.5,${i},98,14`);
    write('in/commit-cancel.csv', lines.join('\n') + '\n');
  };

  beforeAll(async () => {
    // Small partitions: a commit then joins hundreds of files, long enough to cancel a job while it commits.
    t = await startTestApp({ MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '50' });
    const res = await t.request('POST', '/v1/models/demand-linear/versions', { body: artifactForm(fixtures.linear.bytes) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('names the rows whose route names nothing: JSONL lines that are not objects, rows without a model name', async () => {
    const good = (id: string) => JSON.stringify({ id, model: 'demand-linear', day_of_week: 1, promo: 0, price: 4.5, lag_7: 120, lag_28: 98, temperature: 14 });
    // Rows 1–6 (blank lines are not counted): 2 and 5 are not objects, 4 has no model name.
    write('in/lines.jsonl', [good('a'), '[1, 2]', good('b'), '', JSON.stringify({ id: 'c', day_of_week: 1 }), '{"id": "d", oops', good('e')].join('\n') + '\n');
    const job = await run({ input: { uri: 'in/lines.jsonl' } });
    expect(job.status).toBe('succeeded');
    expect(job.progress.rows).toEqual({ total: 6, done: 6, succeeded: 3, failed: 3 });
    const byRoute = Object.fromEntries(job.errors.map((e: { route: string }) => [e.route, e]));
    expect(byRoute['<not a JSON object>']).toMatchObject({ rowsFailed: 2, error: expect.stringMatching(/^INVALID_INPUT_LINE/), rows: [{ row: 2, message: 'the line is not a JSON object' }, { row: 5, message: 'the line is not a JSON object' }] });
    expect(byRoute['']).toMatchObject({ rowsFailed: 1, error: expect.stringMatching(/^MODEL_NOT_FOUND/), rows: [{ row: 4, message: "the row has no model name in 'model'" }] });
    const manifest = await t.request('GET', `/v1/batch-jobs/${job.id}/manifest`);
    expect(manifest.body.errors.flatMap((e: { rows?: Array<{ row: number }> }) => (e.rows ?? []).map((r) => r.row)).sort()).toEqual([2, 4, 5]);

    // CSV, by segment: a row with no segment value at all is named too.
    write('in/segments.csv', 'id,region,store,' + FEATURES.join(',') + '\nx1,north,0001,1,0,4.5,120,98,14\nx2,,,1,0,4.5,120,98,14\n');
    const bySegment = await run({ input: { uri: 'in/segments.csv' }, route: { by: 'segment', columns: ['region', 'store'] } });
    const unnamed = bySegment.errors.find((e: { route: string }) => e.route === 'region=, store=');
    expect(unnamed).toMatchObject({ rowsFailed: 1, rows: [{ row: 2, message: "the row has no value in 'region', 'store'" }] });
    // A route that names its model or segment is found by that value: no row list.
    expect(bySegment.errors.find((e: { route: string }) => e.route === 'region=north, store=0001').rows).toBeUndefined();
  });

  it("scores R's NA and SQL's NULL cells as missing values for float features, as pandas reads them", async () => {
    write('in/from-r.csv', ['"id","model",' + FEATURES.map((f) => `"${f}"`).join(','), '"r1","demand-linear",1,0,4.5,NA,98,14', '"r2","demand-linear",1,0,4.5,NULL,98,14', '"r3","demand-linear",1,0,4.5,cheap,98,14'].join('\r\n') + '\r\n');
    const job = await run({ input: { uri: 'in/from-r.csv' } });
    expect(job.progress.rows).toEqual({ total: 3, done: 3, succeeded: 2, failed: 1 });
    expect(job.errors[0].rows).toEqual([{ row: 3, message: `feature 'lag_7' = "cheap" is not a valid float32` }]);
    const { rows } = await readOutput(t, job.id, 'csv');
    expect(rows.map((r) => [r.id, r.variable])).toEqual([
      ['r1', 'NaN'],
      ['r2', 'NaN'],
    ]);
  });

  it('scores every row with models exported for a fixed batch ([1, 6], [3, 6]), as online serving does', async () => {
    for (const [name, batch, weight] of [['fixed-one', 1, 1], ['fixed-three', 3, 2]] as const) {
      const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(fixedBatchModel(batch, weight)) });
      expect(res.status).toBe(201);
    }
    // 2,500 rows of the batch-of-one model (mini-batches of 1,000 would each be refused whole), and 10 of the batch-of-three one (a last mini-batch of one row).
    const lines = ['id,model,' + FEATURES.join(',')];
    for (let i = 0; i < 2500; i++) lines.push(`a${i},fixed-one,${i},1,0,0,0,0`);
    for (let i = 0; i < 10; i++) lines.push(`b${i},fixed-three,${i},0,0,0,0,1`);
    write('in/fixed-batch.csv', lines.join('\n') + '\n');
    const job = await run({ input: { uri: 'in/fixed-batch.csv' } });
    expect(job.status).toBe('succeeded');
    expect(job.errors).toEqual([]);
    expect(job.progress.rows).toEqual({ total: 2510, done: 2510, succeeded: 2510, failed: 0 });
    const { rows } = await readOutput(t, job.id, 'csv');
    expect(rows).toHaveLength(2510);
    for (const r of rows) {
      const i = Number(String(r.id).slice(1));
      expect(Number(r.variable)).toBe(r.model === 'fixed-one' ? i + 1 : (i + 1) * 2);
    }
  });

  it('resumes with retry a job cancelled while it committed: every partition done, the commit runs, each row once', async () => {
    writeCommitInput();
    // Cancelling lands in the commit only when the commit is still running: try a few jobs until one does.
    let cancelled: { id: string } | null = null;
    for (let attempt = 0; attempt < 8 && !cancelled; attempt++) {
      const res = await t.request('POST', '/v1/batch-jobs', { body: { input: { uri: 'in/commit-cancel.csv' }, route: { by: 'model', column: 'model' }, features: FEATURES, passthrough: ['id'] } });
      const job = await waitForJob(t, res.body.id, (j) => j.phase === 'committing' || j.phase === 'done', 120_000);
      if (job.phase !== 'committing') continue;
      const cancel = await t.request('POST', `/v1/batch-jobs/${res.body.id}/cancel`);
      if (cancel.status === 200 && cancel.body.status === 'cancelled') cancelled = cancel.body;
    }
    expect(cancelled).not.toBeNull();
    const before = await t.request('GET', `/v1/batch-jobs/${cancelled!.id}`);
    expect(before.body.progress.partitions).toMatchObject({ total: 400, succeeded: 400, cancelled: 0 });
    expect(before.body.output.location).toBeNull();

    const retry = await t.request('POST', `/v1/batch-jobs/${cancelled!.id}/retry`);
    expect(retry.status).toBe(202);
    const done = await waitForJob(t, cancelled!.id);
    expect(done.status).toBe('succeeded');
    const { rows } = await readOutput(t, cancelled!.id, 'csv');
    expect(rows).toHaveLength(20_000);
    expect(new Set(rows.map((r) => r.id)).size).toBe(20_000);
  });

  it('resumes with retry a job whose commit failed (its output place taken), once the cause is gone', async () => {
    writeCommitInput();
    const res = await t.request('POST', '/v1/batch-jobs', { body: { input: { uri: 'in/commit-cancel.csv' }, route: { by: 'model', column: 'model' }, features: FEATURES, passthrough: ['id'] } });
    expect(res.status).toBe(202);
    const tenantDir = (id: string) => fs.readdirSync(path.join(t.dataDir, 'batch')).map((d) => path.join(t.dataDir, 'batch', d, id)).find((d) => fs.existsSync(d));
    // As soon as the job has its directory, a file where its output directory goes makes the commit fail.
    let jobDir: string | undefined;
    await waitForJob(t, res.body.id, () => (jobDir = tenantDir(res.body.id)) !== undefined);
    fs.writeFileSync(path.join(jobDir!, 'output-1'), 'in the way');
    const failed = await waitForJob(t, res.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^commit failed/);
    expect(failed.progress.partitions).toMatchObject({ total: 400, succeeded: 400 });

    fs.rmSync(path.join(jobDir!, 'output-1'));
    const retry = await t.request('POST', `/v1/batch-jobs/${res.body.id}/retry`);
    expect(retry.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    const { rows } = await readOutput(t, res.body.id, 'csv');
    expect(rows).toHaveLength(20_000);
    expect(new Set(rows.map((r) => r.id)).size).toBe(20_000);
  });
});
