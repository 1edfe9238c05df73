import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultFixtures, RETAIL_FEATURES, randomRows } from '../fixtures/onnx-builder';
import { readOutput, waitForJob } from '../support/batch-data';
import { parquetWithCodec, TestCodec } from '../support/parquet-codecs';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const FEATURES = [...RETAIL_FEATURES];
const { linear } = defaultFixtures();
const ROWS = 1200;
const features = randomRows(ROWS, FEATURES.length, 11, 0, 60).map((r) => r.map((v) => Math.fround(v)));

describe('batch jobs over compressed Parquet input', () => {
  let t: TestApp;
  const job = (uri: string) => ({
    input: { uri, format: 'parquet' },
    route: { by: 'model', column: 'model' },
    features: FEATURES,
    passthrough: ['id'],
    output: { format: 'csv' },
  });
  const writeInput = async (rel: string, codec: TestCodec) => {
    const columnData = [
      { name: 'id', data: features.map((_, i) => `r${i}`), type: 'STRING' as const },
      { name: 'model', data: features.map(() => 'demand-linear'), type: 'STRING' as const },
      ...FEATURES.map((name, j) => ({ name, data: features.map((f) => f[j]), type: 'DOUBLE' as const })),
    ];
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, rel), await parquetWithCodec(columnData, codec));
  };

  beforeAll(async () => {
    t = await startTestApp({ MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '500' });
    expect((await t.request('POST', '/v1/models/demand-linear/versions', { body: artifactForm(linear.bytes) })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it.each(['GZIP', 'ZSTD'] as const)('scores every row of a %s-compressed file', async (codec) => {
    const uri = `in/sales-${codec.toLowerCase()}.parquet`;
    await writeInput(uri, codec);
    const res = await t.request('POST', '/v1/batch-jobs', { body: job(uri) });
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect([done.status, done.error]).toEqual(['succeeded', null]);
    expect(done.progress.rows).toEqual({ total: ROWS, done: ROWS, succeeded: ROWS, failed: 0 });
    const { rows } = await readOutput(t, res.body.id, 'csv');
    expect(rows).toHaveLength(ROWS);
    const expected = linear.expected(features);
    for (const row of rows) {
      const i = Number(String(row.id).slice(1));
      expect(Number(row.variable)).toBeCloseTo(expected[i][0], 3);
    }
  });

  it('refuses a file that is not Parquet with a plain reason, not a decoder internal', async () => {
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    // Magic bytes and a plausible footer length around junk: the decoder fails inside, on a TypeError.
    const garbage = Buffer.alloc(400, 7);
    garbage.write('PAR1', 0);
    garbage.writeUInt32LE(100, 392);
    garbage.write('PAR1', 396);
    fs.writeFileSync(path.join(t.dataDir, 'in', 'garbage.parquet'), garbage);
    const res = await t.request('POST', '/v1/batch-jobs', { body: job('in/garbage.parquet') });
    expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_BATCH_JOB']);
    expect(res.body.error.message).toBe('input.uri is not a readable parquet file: its contents do not read as that format');
  });

  it('refuses a file compressed with a codec it cannot read: 400 at submit, a failed job when a schedule fires it', async () => {
    await writeInput('in/sales-lzo.parquet', 'LZO_MISLABELLED');
    const res = await t.request('POST', '/v1/batch-jobs', { body: job('in/sales-lzo.parquet') });
    expect([res.status, res.body.error.code, res.body.error.details]).toEqual([400, 'INVALID_BATCH_JOB', { field: 'input.uri' }]);
    expect(res.body.error.message).toMatch(/^input\.uri is not a readable parquet file: parquet column 'id' is compressed with LZO, which cannot be read; supported codecs: .*GZIP.*ZSTD/);

    // A schedule's input is only read when it fires: the job fails with the same explanation.
    const schedule = await t.request('POST', '/v1/batch-schedules', { body: { cron: '0 0 1 1 *', job: job('in/sales-lzo.parquet') } });
    expect(schedule.status).toBe(201);
    const fired = await t.request('POST', `/v1/batch-schedules/${schedule.body.id}/run`);
    expect(fired.status).toBe(202);
    const failed = await waitForJob(t, fired.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^planning failed: parquet column 'id' is compressed with LZO, which cannot be read/);
    expect(t.output()).not.toMatch(/TypeError|Unhandled/);
  });
});
