import { buildLinearModel, onnxGraph } from '../fixtures/onnx-builder';
import { readOutput, waitForJob, writeInput } from '../support/batch-data';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const { node, floatTensor, encode, attr } = onnxGraph;

/**
 * An output that is not one entry per row — a constant `[3]` beside the per-row prediction — was
 * cut across each mini-batch as if it were: the first output row got `[7]`, the others `[null]`,
 * in a job that said it succeeded. Online answers the whole `[7, 8, 9]` per request; batch rows
 * cannot hold it, so the model's partition fails at once, saying why, and the rest commits.
 */
describe('batch: a model whose outputs are not one entry per row', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const register = async (name: string, bytes: Buffer) => expect((await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes) })).status).toBe(201);

  it('fails its partition with the reason instead of writing values that belong to no row', async () => {
    await register('per-row', buildLinearModel({ weights: [2, 3], bias: 0, inputName: 'x', outputName: 'y' }).bytes);
    // y [N, 1] per row, c [3] a constant of the call
    await register(
      'with-constant',
      encode({
        name: 'with_constant',
        inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }],
        outputs: [
          { name: 'y', dtype: 'float32', shape: ['N', 1] },
          { name: 'c', dtype: 'float32', shape: [3] },
        ],
        initializers: [floatTensor('w', [2, 1], [2, 3]), floatTensor('c', [3], [7, 8, 9])],
        nodes: [node('MatMul', ['x', 'w'], ['y'])],
      }),
    );
    // twice the rows along axis 0, declared with a symbolic first dimension: only the run shows it
    await register(
      'doubled-rows',
      encode({
        name: 'doubled_rows',
        inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }],
        outputs: [{ name: 'z', dtype: 'float32', shape: ['M', 2] }],
        initializers: [],
        nodes: [node('Concat', ['x', 'x'], ['z'], { attribute: [attr.int('axis', 0)] })],
      }),
    );
    const rows = ['per-row', 'with-constant', 'doubled-rows'].flatMap((model) => [1, 2, 3].map((i) => ({ id: `${model}-${i}`, model, a: i, b: 2 * i })));
    writeInput(t, 'in/not-per-row.csv', 'csv', rows, ['id', 'model', 'a', 'b']);

    const job = await t.request('POST', '/v1/batch-jobs', {
      body: { input: { uri: 'in/not-per-row.csv' }, route: { by: 'model', column: 'model' }, features: ['a', 'b'], passthrough: ['id'], maxRetries: 0 },
    });
    expect(job.status).toBe(202);
    const done = await waitForJob(t, job.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.rows).toMatchObject({ succeeded: 3, failed: 6 });

    const byModel = Object.fromEntries(done.errors.map((e: { model: string }) => [e.model, e]));
    expect(byModel['with-constant']).toMatchObject({ status: 'failed', attempts: 1, rowsFailed: 3 });
    expect(byModel['with-constant'].error).toContain("model 'with-constant' version 1 answers 'c' [3], not one entry per row");
    expect(byModel['doubled-rows']).toMatchObject({ status: 'failed', rowsFailed: 3 });
    expect(byModel['doubled-rows'].error).toContain("output 'z' came out with shape [6, 2] for 3 row(s), not one entry per row");

    const { rows: out } = await readOutput(t, job.body.id, 'csv');
    expect(out.map((r) => [r.id, r.model, r.y])).toEqual([
      ['per-row-1', 'per-row', '8'],
      ['per-row-2', 'per-row', '16'],
      ['per-row-3', 'per-row', '24'],
    ]);
  });
});
