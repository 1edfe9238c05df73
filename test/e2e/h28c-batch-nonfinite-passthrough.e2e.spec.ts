import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { buildLinearModel } from '../fixtures/onnx-builder';
import { readOutput, waitForJob } from '../support/batch-data';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A Parquet DOUBLE passthrough column holding ±Infinity or NaN went through staging as the text
 * "Infinity" (NaN as null): the Parquet output typed the whole column as strings ("1.5",
 * "Infinity"), JSONL wrote the string "Infinity", and NaN came out as a missing value.
 */
describe('batch passthrough of non-finite numbers keeps them numbers', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/v1/models/lin/versions', { body: artifactForm(buildLinearModel({ weights: [1, 2], bias: 0.5 }).bytes) })).status).toBe(201);
    const file = parquetWriteBuffer({
      columnData: [
        { name: 'model', data: ['lin', 'lin', 'lin', 'lin'], type: 'STRING' },
        { name: 'a', data: [1, 2, 3, Infinity], type: 'DOUBLE' },
        { name: 'b', data: [1, 1, 1, 1], type: 'DOUBLE' },
        { name: 'price', data: [1.5, Infinity, NaN, -Infinity], type: 'DOUBLE' },
      ],
    });
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'in', 'prices.parquet'), Buffer.from(file));
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const run = async (format: 'csv' | 'jsonl' | 'parquet') => {
    const res = await t.request('POST', '/v1/batch-jobs', {
      body: { input: { uri: 'in/prices.parquet' }, route: { by: 'model', column: 'model' }, features: ['a', 'b'], passthrough: ['price'], output: { format } },
    });
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    // An infinite feature still fails its row, named as the number it is.
    expect(done.errors[0].rows).toEqual([{ row: 4, message: "feature 'a' = Infinity is not a valid float32" }]);
    return res.body.id as string;
  };

  it('Parquet output: the column stays DOUBLE, non-finite values null as for predictions', async () => {
    const id = await run('parquet');
    const response = await fetch(`${t.baseUrl}/v1/batch-jobs/${id}/output`, { headers: { authorization: 'Bearer test-root-token-0123456789abcdef' } });
    const bytes = await response.arrayBuffer();
    const price = parquetMetadata(bytes).schema.find((s) => s.name === 'price');
    expect(price?.type).toBe('DOUBLE');
    expect((await readOutput(t, id, 'parquet')).rows.map((r) => r.price)).toEqual([1.5, null, null]);
  });

  it('JSONL output: null, not the string "Infinity"', async () => {
    const id = await run('jsonl');
    expect((await readOutput(t, id, 'jsonl')).rows.map((r) => r.price)).toEqual([1.5, null, null]);
  });

  it('CSV output: Infinity and NaN, as predictions are written', async () => {
    const id = await run('csv');
    expect((await readOutput(t, id, 'csv')).rows.map((r) => r.price)).toEqual(['1.5', 'Infinity', 'NaN']);
  });
});
