import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildLinearModel, buildLookupModel, buildStoreCodeModel, buildWideOutputModel, defaultFixtures, RETAIL_FEATURES, randomRows } from '../fixtures/onnx-builder';
import { readOutput, Row, waitForJob, writeInput } from '../support/batch-data';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const FEATURES = [...RETAIL_FEATURES];
const fixtures = defaultFixtures();
/** A third model with its own weights, so a wrong route shows in the numbers. */
const other = buildLinearModel({ weights: [1, 2, 3, 4, 5, 6], bias: -7, featureNames: FEATURES });

type Fixture = typeof other;

/** Rows with an id, a model column, segment columns and the six features (float32 values). */
function makeRows(count: number, seed: number, assign: (i: number) => Partial<Row>): Row[] {
  return randomRows(count, 6, seed, 0, 60).map((features, i) => ({
    id: `r${seed}-${i}`,
    date: `2026-11-${String((i % 28) + 1).padStart(2, '0')}`,
    ...Object.fromEntries(FEATURES.map((f, j) => [f, features[j]])),
    ...assign(i),
  }));
}

function featuresOf(row: Row): number[] {
  return FEATURES.map((f) => Number(row[f]));
}

/** Every input row appears exactly once in the output, with the prediction of the model expected for it. */
function expectScored(input: Row[], output: Row[], modelFor: (row: Row) => { name: string; fixture: Fixture } | null): void {
  const byId = new Map<string, Row>();
  for (const row of output) {
    expect(byId.has(String(row.id))).toBe(false);
    byId.set(String(row.id), row);
  }
  let scored = 0;
  for (const row of input) {
    const want = modelFor(row);
    const got = byId.get(String(row.id));
    if (!want) {
      expect(got).toBeUndefined();
      continue;
    }
    expect(got).toBeDefined();
    expect(got!.model).toBe(want.name);
    expect(Number(got!.version)).toBe(1);
    const expected = want.fixture.expected([featuresOf(row)])[0][0];
    expect(Number(got!.variable)).toBeCloseTo(expected, 3);
    scored++;
  }
  expect(output.length).toBe(scored);
}

describe('batch scoring over HTTP', () => {
  let t: TestApp;
  const upload = async (name: string, fixture: Fixture, segment?: Record<string, string>, tags?: Record<string, string>) => {
    const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(fixture.bytes, { segment, tags }) });
    expect(res.status).toBe(201);
  };
  const submit = (body: object, token = ROOT_TOKEN) => t.request('POST', '/v1/batch-jobs', { body, headers: { authorization: `Bearer ${token}` } });
  const job = (over: Record<string, unknown>) => ({
    route: { by: 'model', column: 'model' },
    features: FEATURES,
    passthrough: ['id', 'date'],
    ...over,
  });

  beforeAll(async () => {
    t = await startTestApp({ MMS_BATCH_LEASE_SECONDS: '4', MMS_BATCH_POLL_MS: '100', MMS_BATCH_PARTITION_ROWS: '400' });
    await upload('demand-linear', fixtures.linear);
    await upload('demand-tree', fixtures.tree);
    await upload('demand-mlp', fixtures.mlp);
    // Segment models: a store of its own, its region's, and another region's.
    await upload('seg-north-0001', other, { region: 'north', store: '0001' });
    await upload('seg-north', fixtures.linear, { region: 'north' });
    await upload('seg-south', fixtures.tree, { region: 'south' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const byModelColumn = (row: Row) => {
    const fixture = { 'demand-linear': fixtures.linear, 'demand-tree': fixtures.tree, 'demand-mlp': fixtures.mlp }[String(row.model)];
    return fixture ? { name: String(row.model), fixture } : null;
  };

  it('scores a CSV routed by model column into CSV, with progress, pinned versions and a manifest', async () => {
    const models = ['demand-linear', 'demand-tree', 'demand-mlp'];
    const input = makeRows(1500, 1, (i) => ({ model: models[i % 3] }));
    writeInput(t, 'in/sales.csv', 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    const res = await submit(job({ input: { uri: 'in/sales.csv', format: 'csv' }, output: { format: 'csv' }, miniBatchSize: 128 }));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String), status: 'queued' });
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    // 500 rows per model, cut into partitions of at most 400 (MMS_BATCH_PARTITION_ROWS).
    expect(done.progress.partitions).toMatchObject({ total: 6, done: 6, succeeded: 6, failed: 0, pending: 0, running: 0 });
    expect(done.progress.rows).toEqual({ total: 1500, done: 1500, succeeded: 1500, failed: 0 });
    expect(done.progress.rowsPerSecond).toBeGreaterThan(0);
    expect(done.progress.etaSeconds).toBe(0);
    expect(done.modelVersions).toEqual({ 'demand-linear': 1, 'demand-tree': 1, 'demand-mlp': 1 });
    expect(done.output).toMatchObject({ format: 'csv', rows: 1500, url: `/v1/batch-jobs/${res.body.id}/output` });
    expect(fs.existsSync(path.join(t.dataDir, done.output.location))).toBe(true);

    const { contentType, rows } = await readOutput(t, res.body.id, 'csv');
    expect(contentType).toMatch(/^text\/csv/);
    expect(Object.keys(rows[0])).toEqual(['id', 'date', 'model', 'version', 'variable']);
    expectScored(input, rows, byModelColumn);

    const manifest = await t.request('GET', `/v1/batch-jobs/${res.body.id}/manifest`);
    expect(manifest.status).toBe(200);
    expect(manifest.body).toMatchObject({ jobId: res.body.id, modelVersions: done.modelVersions, failedRows: 0, output: { rows: 1500, format: 'csv' } });
    expect(manifest.body.partitions).toHaveLength(6);
    expect(manifest.body.partitions.map((p: { seq: number }) => p.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const p of manifest.body.partitions) expect(p.checksum).toMatch(/^[0-9a-f]{64}$/);
    // Nothing failed: the staging area is gone, only the committed output remains.
    const jobDir = path.join(t.dataDir, path.dirname(path.dirname(done.output.location)));
    expect(fs.readdirSync(jobDir)).toEqual(['output-1']);
  });

  it('passes 64-bit integer ids from JSONL through exactly, into CSV, JSONL and Parquet output', async () => {
    const ids = ['12345678901234567890', '-9007199254740993', '9223372036854775807'];
    const lines = ids.map((id, i) => `{"id":${id},"date":"2026-11-2${i}","model":"demand-linear",${FEATURES.map((f, j) => `"${f}":${i + j}`).join(',')}}`);
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'in', 'ids.jsonl'), lines.join('\n') + '\n');
    for (const format of ['csv', 'jsonl'] as const) {
      const res = await submit(job({ input: { uri: 'in/ids.jsonl', format: 'jsonl' }, output: { format } }));
      expect(res.status).toBe(202);
      expect((await waitForJob(t, res.body.id)).status).toBe('succeeded');
      const text = await (await fetch(`${t.baseUrl}/v1/batch-jobs/${res.body.id}/output`, { headers: { authorization: `Bearer ${ROOT_TOKEN}` } })).text();
      for (const id of ids) expect(text).toContain(format === 'csv' ? `\n${id},` : `{"id":${id},`);
    }
    // Parquet: every id exact — as text here, since 12345678901234567890 is beyond INT64 (within it the column is INT64).
    const res = await submit(job({ input: { uri: 'in/ids.jsonl', format: 'jsonl' }, output: { format: 'parquet' } }));
    expect((await waitForJob(t, res.body.id)).status).toBe('succeeded');
    const { rows } = await readOutput(t, res.body.id, 'parquet');
    expect(rows.map((r) => String(r.id)).sort()).toEqual([...ids].sort());
    expect(rows.map((r) => typeof r.id)).toEqual(['string', 'string', 'string']);
  });

  it('routes JSONL by segment with the online fallback rule into JSONL, counting rows without a model as failed', async () => {
    const places = [
      { region: 'north', store: '0001' }, // its own model
      { region: 'north', store: '0002' }, // falls back to the region's model
      { region: 'south', store: '0042' }, // the south region's model
      { region: 'east', store: '0003' }, // no model at all
    ];
    const input = makeRows(800, 2, (i) => places[i % 4]);
    writeInput(t, 'in/segments.jsonl', 'jsonl', input, []);
    const res = await submit(
      job({ input: { uri: 'in/segments.jsonl', format: 'jsonl' }, route: { by: 'segment', columns: ['region', 'store'] }, passthrough: ['id', 'store'], output: { format: 'jsonl' } }),
    );
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded'); // errorThreshold -1: any number of failed rows
    expect(done.progress.rows).toEqual({ total: 800, done: 800, succeeded: 600, failed: 200 });
    expect(done.modelVersions).toEqual({ 'seg-north-0001': 1, 'seg-north': 1, 'seg-south': 1 });
    expect(done.errors).toEqual([expect.objectContaining({ route: 'region=east, store=0003', rowsFailed: 200, status: 'failed', error: expect.stringContaining('NO_MODEL_FOR_SEGMENT') })]);
    const { contentType, rows } = await readOutput(t, res.body.id, 'jsonl');
    expect(contentType).toMatch(/^application\/x-ndjson/);
    expect(Object.keys(rows[0])).toEqual(['id', 'store', 'model', 'version', 'variable']);
    expectScored(input, rows, (row) => {
      if (row.store === '0001') return { name: 'seg-north-0001', fixture: other };
      if (row.region === 'north') return { name: 'seg-north', fixture: fixtures.linear };
      if (row.region === 'south') return { name: 'seg-south', fixture: fixtures.tree };
      return null;
    });
  });

  it('narrows routing to models carrying tags: a scheduled run over every model tagged family=demand', async () => {
    // Each west store has a price model too, with the same segment and a name that sorts first.
    await upload('a-price-west-0007', other, { region: 'west', store: '0007' }, { family: 'price' });
    await upload('demand-west-0007', fixtures.linear, { region: 'west', store: '0007' }, { family: 'demand' });
    await upload('demand-west', fixtures.tree, { region: 'west' }, { family: 'demand' });
    const input = makeRows(300, 11, (i) => ({ region: 'west', store: i % 2 ? '0007' : '0008', model: i % 3 ? 'demand-west' : 'a-price-west-0007' }));
    writeInput(t, 'in/west.csv', 'csv', input, ['id', 'date', 'region', 'store', 'model', ...FEATURES]);
    const demand = (row: Row) => (row.store === '0007' ? { name: 'demand-west-0007', fixture: fixtures.linear } : { name: 'demand-west', fixture: fixtures.tree });

    const bad = await submit(job({ input: { uri: 'in/west.csv' }, route: { by: 'segment', columns: ['region', 'store'], tags: { family: 7 } } }));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_BATCH_JOB', details: { field: 'route.tags' } });

    // Without tags the price model wins store 0007 (same specificity, smaller name); with them, only demand models count.
    const plain = await waitForJob(t, (await submit(job({ input: { uri: 'in/west.csv' }, route: { by: 'segment', columns: ['region', 'store'] } }))).body.id);
    expect(plain.modelVersions).toEqual({ 'a-price-west-0007': 1, 'demand-west': 1 });
    const body = { cron: '0 2 * * *', name: 'nightly demand', job: job({ input: { uri: 'in/west.csv' }, route: { by: 'segment', columns: ['region', 'store'], tags: { family: 'demand' } } }) };
    const schedule = await t.request('POST', '/v1/batch-schedules', { body });
    expect(schedule.status).toBe(201);
    const fired = await t.request('POST', `/v1/batch-schedules/${schedule.body.id}/run`);
    expect(fired.status).toBe(202);
    const done = await waitForJob(t, fired.body.id);
    expect(done).toMatchObject({ status: 'succeeded', route: { by: 'segment', tags: { family: 'demand' } }, modelVersions: { 'demand-west-0007': 1, 'demand-west': 1 } });
    expectScored(input, (await readOutput(t, done.id, 'csv')).rows, demand);
    expect((await t.request('DELETE', `/v1/batch-schedules/${schedule.body.id}`)).status).toBe(204);

    // By model column: rows naming a model without the tags are refused, the others scored.
    const byModel = await waitForJob(t, (await submit(job({ input: { uri: 'in/west.csv' }, route: { by: 'model', column: 'model', tags: { family: 'demand' } } }))).body.id);
    expect(byModel.progress.rows).toMatchObject({ total: 300, succeeded: 200, failed: 100 });
    expect(byModel.errors).toEqual([expect.objectContaining({ route: 'a-price-west-0007', error: expect.stringContaining("no model 'a-price-west-0007' tagged family=demand") })]);
    expectScored(input, (await readOutput(t, byModel.id, 'csv')).rows, (row) => (row.model === 'demand-west' ? { name: 'demand-west', fixture: fixtures.tree } : null));
  });

  it('reads and writes Parquet', async () => {
    const input = makeRows(1000, 3, (i) => ({ model: i % 2 ? 'demand-tree' : 'demand-linear' }));
    writeInput(t, 'in/sales.parquet', 'parquet', input, ['id', 'date', 'model', ...FEATURES]);
    const res = await submit(job({ input: { uri: 'in/sales.parquet', format: 'parquet' }, output: { format: 'parquet' } }));
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    const { contentType, rows } = await readOutput(t, res.body.id, 'parquet');
    expect(contentType).toBe('application/vnd.apache.parquet');
    expect(Object.keys(rows[0])).toEqual(['id', 'date', 'model', 'version', 'variable']);
    expectScored(input, rows, byModelColumn);
  });

  it('writes CSV input as Parquet and Parquet input as CSV', async () => {
    const input = makeRows(300, 4, () => ({ model: 'demand-mlp' }));
    writeInput(t, 'in/mlp.csv', 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    writeInput(t, 'in/mlp.parquet', 'parquet', input, ['id', 'date', 'model', ...FEATURES]);
    const a = await submit(job({ input: { uri: 'in/mlp.csv', format: 'csv' }, output: { format: 'parquet' } }));
    const b = await submit(job({ input: { uri: 'in/mlp.parquet', format: 'parquet' }, output: { format: 'csv' } }));
    expect((await waitForJob(t, a.body.id)).status).toBe('succeeded');
    expect((await waitForJob(t, b.body.id)).status).toBe('succeeded');
    expectScored(input, (await readOutput(t, a.body.id, 'parquet')).rows, byModelColumn);
    expectScored(input, (await readOutput(t, b.body.id, 'csv')).rows, byModelColumn);
  });

  it('fails a job whose missing model exceeds errorThreshold, then retry scores it once the model exists', async () => {
    const input = makeRows(600, 5, (i) => ({ model: i % 3 === 0 ? 'demand-later' : 'demand-linear' }));
    writeInput(t, 'in/missing.csv', 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    const res = await submit(job({ input: { uri: 'in/missing.csv', format: 'csv' }, output: { format: 'csv' }, errorThreshold: 10 }));
    const failed = await waitForJob(t, res.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('200 row(s) failed, more than errorThreshold 10');
    expect(failed.errors).toEqual([expect.objectContaining({ route: 'demand-later', rowsFailed: 200, error: expect.stringContaining('MODEL_NOT_FOUND') })]);
    expect(failed.errorsTotal).toBe(1);
    expect(failed.output.location).toBeNull();
    expect((await t.request('GET', `/v1/batch-jobs/${res.body.id}/output`)).body.error.code).toBe('OUTPUT_NOT_READY');

    // While the model is still missing a retry could only fail again: refused.
    const early = await t.request('POST', `/v1/batch-jobs/${res.body.id}/retry`);
    expect([early.status, early.body.error.code, early.body.error.details.rows]).toEqual([409, 'JOB_STATE_CONFLICT', 200]);
    await upload('demand-later', other);
    // A pause before the retry: the retry's rate counts its own rows over its own time, not the pause.
    await new Promise((r) => setTimeout(r, 2000));
    const retriedAt = Date.now();
    const retried = await t.request('POST', `/v1/batch-jobs/${res.body.id}/retry`);
    expect(retried.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    // The retry scored the failed and the cancelled partitions: every row but those that had succeeded.
    const rescored = 600 - failed.progress.rows.succeeded;
    const rowsAtThatRate = (done.progress.rowsPerSecond * (Date.parse(done.finishedAt) - retriedAt)) / 1000;
    expect(rowsAtThatRate).toBeGreaterThan(rescored * 0.6);
    expect(rowsAtThatRate).toBeLessThan(rescored * 1.4);
    expect(done.modelVersions).toEqual({ 'demand-linear': 1, 'demand-later': 1 });
    expect(done.errors).toEqual([]);
    expect(done.errorsTotal).toBe(0);
    const { rows } = await readOutput(t, res.body.id, 'csv');
    expectScored(input, rows, (row) => (row.model === 'demand-later' ? { name: 'demand-later', fixture: other } : { name: 'demand-linear', fixture: fixtures.linear }));
  });

  it('stays within errorThreshold: bad feature values are left out and listed by row', async () => {
    const input = makeRows(200, 6, () => ({ model: 'demand-linear' }));
    input[10].price = 'cheap';
    input[150].lag_7 = 'high'; // text ('n/a' is pandas' spelling of a missing value: NaN)
    writeInput(t, 'in/bad-values.csv', 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    const res = await submit(job({ input: { uri: 'in/bad-values.csv', format: 'csv' }, output: { format: 'csv' }, errorThreshold: 2 }));
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.rows).toMatchObject({ total: 200, succeeded: 198, failed: 2 });
    expect(done.errors[0].rows).toEqual([
      { row: 11, message: `feature 'price' = "cheap" is not a valid float32` },
      { row: 151, message: `feature 'lag_7' = "high" is not a valid float32` },
    ]);
    const { rows } = await readOutput(t, res.body.id, 'csv');
    expect(rows).toHaveLength(198);
  });

  it('feeds a string feature only strings, as online: a number, null or a missing CSV field fails its row', async () => {
    const model = buildStoreCodeModel({ '0042': 100, '0043': 200 });
    expect((await t.request('POST', '/v1/models/store-code/versions', { body: artifactForm(model.bytes) })).status).toBe(201);
    const lines = ['{"id":"a","model":"store-code","store":"0042","x":1}', '{"id":"b","model":"store-code","store":42,"x":1}', '{"id":"c","model":"store-code","store":null,"x":1}', '{"id":"d","model":"store-code","store":"0043","x":2}'];
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'in', 'stores.jsonl'), lines.join('\n') + '\n');
    fs.writeFileSync(path.join(t.dataDir, 'in', 'stores.csv'), 'id,model,x,store\ne,store-code,1,0043\nf,store-code,1\ng,store-code,1,\n');
    const expected = { jsonl: { a: 101, d: 202 }, csv: { e: 201, g: 0 } };
    for (const format of ['jsonl', 'csv'] as const) {
      const res = await submit(job({ input: { uri: `in/stores.${format}`, format }, features: ['store', 'x'], passthrough: ['id'], output: { format: 'csv' } }));
      expect(res.status).toBe(202);
      const done = await waitForJob(t, res.body.id);
      expect(done.status).toBe('succeeded');
      expect(done.errors[0].rows.map((r: { message: string }) => r.message)).toEqual(
        format === 'jsonl' ? ["feature 'store' = 42 is not a valid string", "feature 'store' = null is not a valid string"] : ["feature 'store' = null is not a valid string"],
      );
      const { rows } = await readOutput(t, res.body.id, 'csv');
      expect(Object.fromEntries(rows.map((r) => [r.id, Number(r.y)]))).toEqual(expected[format]); // "" is an unknown store: -1 + 1
    }
  });

  it('fails a row whose number is beyond the float types (1e400 in JSONL is Infinity), as online, instead of scoring it as missing', async () => {
    const row = (id: string, temperature: string) => `{"id":"${id}","date":"d","model":"demand-linear","day_of_week":1,"promo":0,"price":2,"lag_7":1,"lag_28":1,"temperature":${temperature}}`;
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'in', 'infinite.jsonl'), [row('a', '1e400'), row('b', '-1e400'), row('c', '1e39'), row('d', '5')].join('\n') + '\n');
    const res = await submit(job({ input: { uri: 'in/infinite.jsonl', format: 'jsonl' }, output: { format: 'jsonl' } }));
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.errors[0].rows.map((r: { message: string }) => r.message)).toEqual([
      `feature 'temperature' = Infinity is not a valid float32`,
      `feature 'temperature' = -Infinity is not a valid float32`,
      `feature 'temperature' = 1e+39 is not a valid float32`,
    ]);
    const { rows } = await readOutput(t, res.body.id, 'jsonl');
    expect(rows.map((r) => r.id)).toEqual(['d']);
  });

  it('refuses a job whose models would share an output column for different values', async () => {
    const wide = buildWideOutputModel({ width: 3, nFeatures: 6 }); // output 'variable', 3 values a row
    expect((await t.request('POST', '/v1/models/wide-three/versions', { body: artifactForm(wide.bytes) })).status).toBe(201);
    const named = buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 0, outputName: 'variable_0' });
    expect((await t.request('POST', '/v1/models/named-variable-0/versions', { body: artifactForm(named.bytes) })).status).toBe(201);
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'in', 'collide.csv'), `id,date,model,${FEATURES.join(',')}\na,d,named-variable-0,1,0,2,3,4,5\nb,d,wide-three,1,0,2,3,4,5\n`);
    const res = await submit(job({ input: { uri: 'in/collide.csv', format: 'csv' }, output: { format: 'csv' } }));
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('failed');
    expect(JSON.stringify(done)).toContain("column 'variable_0' would hold");
  });

  it('leaves out only the rows the model cannot compute (found within their mini-batch), listed by row', async () => {
    expect((await t.request('POST', '/v1/models/lookup/versions', { body: artifactForm(buildLookupModel([0, 10, 20, 30, 40, 50, 60, 70, 80, 90])) })).status).toBe(201);
    // Index 12 is outside the ten-entry table: onnxruntime refuses any call holding it.
    const input: Row[] = Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, model: 'lookup', idx: i === 137 ? 12 : i % 10 }));
    writeInput(t, 'in/lookup.csv', 'csv', input, ['id', 'model', 'idx']);
    const res = await submit(job({ input: { uri: 'in/lookup.csv', format: 'csv' }, features: ['idx'], passthrough: ['id'], output: { format: 'csv' }, miniBatchSize: 100 }));
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.rows).toMatchObject({ total: 300, succeeded: 299, failed: 1 });
    expect(done.errors[0].rows).toEqual([{ row: 138, message: expect.stringMatching(/^the model could not compute this row: .*out of/) }]);
    const { rows } = await readOutput(t, res.body.id, 'csv');
    expect(rows).toHaveLength(299);
    expect(rows.find((r) => r.id === 'r137')).toBeUndefined();
    expect(rows.find((r) => r.id === 'r138')).toMatchObject({ y: '80' });
  });

  it('refuses input paths outside the data directory, also through symlinks (400)', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-outside-'));
    fs.writeFileSync(path.join(outside, 'secret.csv'), 'model,a\nx,1\n');
    fs.mkdirSync(path.join(t.dataDir, 'links'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'secret.csv'), path.join(t.dataDir, 'links', 'file.csv'));
    fs.symlinkSync(outside, path.join(t.dataDir, 'links', 'dir'));
    fs.symlinkSync(path.join(outside, 'gone.csv'), path.join(t.dataDir, 'links', 'dangling.csv'));
    try {
      for (const uri of ['../secret.csv', 'in/../../secret.csv', path.join(outside, 'secret.csv'), 'links/file.csv', 'links/dir/secret.csv', 'links/dangling.csv', 'file:///etc/passwd']) {
        const res = await submit(job({ input: { uri, format: 'csv' } }));
        expect([uri, res.status, res.body.error.code]).toEqual([uri, 400, 'INVALID_INPUT_URI']);
      }
      const missing = await submit(job({ input: { uri: 'in/nope.csv', format: 'csv' } }));
      expect([missing.status, missing.body.error.code]).toEqual([400, 'INPUT_NOT_FOUND']);
      const noColumn = await submit(job({ input: { uri: 'in/sales.csv', format: 'csv' }, features: ['price', 'weather'] }));
      expect([noColumn.status, noColumn.body.error.code, noColumn.body.error.message]).toEqual([400, 'INVALID_BATCH_JOB', expect.stringMatching(/^The input has no column 'weather'; its columns are /)]);
      const bad = await submit({ input: { uri: 'in/sales.csv' }, route: { by: 'store' }, features: FEATURES });
      expect([bad.status, bad.body.error.code, bad.body.error.details.field]).toEqual([400, 'INVALID_BATCH_JOB', 'route.by']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('cancels a running job (no output), and retry resumes it to completion', async () => {
    const input = makeRows(6000, 7, (i) => ({ model: ['demand-linear', 'demand-tree', 'demand-mlp'][i % 3] }));
    writeInput(t, 'in/long.csv', 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    // 15 partitions of 400 rows, one at a time, 10 rows per inference call: slow enough to cancel midway.
    const res = await submit(job({ input: { uri: 'in/long.csv', format: 'csv' }, output: { format: 'csv' }, maxConcurrency: 1, miniBatchSize: 10 }));
    await waitForJob(t, res.body.id, (j) => j.progress.partitions.succeeded >= 1);
    const cancelled = await t.request('POST', `/v1/batch-jobs/${res.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.progress.partitions.cancelled).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    const after = await t.request('GET', `/v1/batch-jobs/${res.body.id}`);
    expect(after.body.status).toBe('cancelled');
    expect(after.body.output.location).toBeNull();
    expect((await t.request('POST', `/v1/batch-jobs/${res.body.id}/cancel`)).status).toBe(200); // idempotent

    expect((await t.request('POST', `/v1/batch-jobs/${res.body.id}/retry`)).status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    expect((await t.request('POST', `/v1/batch-jobs/${res.body.id}/cancel`)).body.error.code).toBe('JOB_STATE_CONFLICT');
    expectScored(input, (await readOutput(t, res.body.id, 'csv')).rows, byModelColumn);
  });

  it('runs schedules per tenant: fired by cron and on demand, listed, deleted', async () => {
    const input = makeRows(50, 8, () => ({ model: 'demand-linear' }));
    const day = new Date().toISOString().slice(0, 10);
    writeInput(t, `in/daily-${day}.csv`, 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    const body = { cron: '*/2 * * * * *', name: 'every two seconds', job: job({ input: { uri: 'in/daily-{date}.csv', format: 'csv' }, output: { format: 'jsonl' } }) };
    expect((await t.request('POST', '/v1/batch-schedules', { body: { ...body, cron: 'every night' } })).body.error.code).toBe('INVALID_CRON');
    expect((await t.request('POST', '/v1/batch-schedules', { body: { ...body, job: { ...body.job, input: { uri: '../x.csv' } } } })).body.error.code).toBe('INVALID_INPUT_URI');
    const created = await t.request('POST', '/v1/batch-schedules', { body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ cron: '*/2 * * * * *', timezone: 'UTC', runs: 0, nextRunAt: expect.any(String) });

    // The cron fires within a few seconds, with {date} expanded.
    const until = Date.now() + 20_000;
    let schedule = created.body;
    while (schedule.runs === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      schedule = (await t.request('GET', `/v1/batch-schedules/${created.body.id}`)).body;
    }
    expect(schedule.runs).toBeGreaterThanOrEqual(1);
    const fired = await waitForJob(t, schedule.lastJobId);
    expect(fired).toMatchObject({ status: 'succeeded', scheduleId: created.body.id, input: { uri: `in/daily-${day}.csv` } });
    expectScored(input, (await readOutput(t, fired.id, 'jsonl')).rows, byModelColumn);

    const now = await t.request('POST', `/v1/batch-schedules/${created.body.id}/run`);
    expect(now.status).toBe(202);
    expect(now.body).toMatchObject({ scheduleId: created.body.id, status: 'queued' });
    expect((await waitForJob(t, now.body.id)).status).toBe('succeeded');

    expect((await t.request('GET', '/v1/batch-schedules')).body.items.map((s: { id: string }) => s.id)).toContain(created.body.id);
    expect((await t.request('DELETE', `/v1/batch-schedules/${created.body.id}`)).status).toBe(204);
    expect((await t.request('GET', `/v1/batch-schedules/${created.body.id}`)).status).toBe(404);
    const jobs = await t.request('GET', '/v1/batch-jobs?limit=200');
    const fromSchedule = jobs.body.items.filter((j: { scheduleId: string }) => j.scheduleId === created.body.id).length;
    await new Promise((r) => setTimeout(r, 2500));
    const later = await t.request('GET', '/v1/batch-jobs?limit=200');
    expect(later.body.items.filter((j: { scheduleId: string }) => j.scheduleId === created.body.id).length).toBe(fromSchedule);
  });

  it('keeps jobs and schedules within their tenant: a foreign id answers 404 like a missing one', async () => {
    const tenant = await t.request('POST', '/v1/tenants', { body: { name: 'other-retailer' } });
    const key = async (role: string) => (await t.request('POST', `/v1/tenants/${tenant.body.id}/keys`, { body: { role } })).body.key as string;
    const publisher = await key('publisher');
    const scorer = await key('scorer');
    const as = (credential: string, method: string, p: string, body?: unknown) => t.request(method, p, { body, headers: { authorization: `Bearer ${credential}` } });
    const mine = (await t.request('GET', '/v1/batch-jobs?limit=1')).body.items[0].id as string;
    for (const p of [`/v1/batch-jobs/${mine}`, `/v1/batch-jobs/${mine}/output`, `/v1/batch-jobs/${mine}/manifest`, '/v1/batch-jobs/00000000-0000-0000-0000-000000000000']) {
      const res = await as(publisher, 'GET', p);
      expect([p, res.status, res.body.error.code]).toEqual([p, 404, 'JOB_NOT_FOUND']);
    }
    expect((await as(publisher, 'POST', `/v1/batch-jobs/${mine}/cancel`)).status).toBe(404);
    expect((await as(publisher, 'POST', `/v1/batch-jobs/${mine}/retry`)).status).toBe(404);
    expect((await as(publisher, 'GET', '/v1/batch-jobs')).body.items).toEqual([]);
    expect((await as(scorer, 'GET', '/v1/batch-jobs')).status).toBe(403);
    expect((await as(scorer, 'POST', '/v1/batch-jobs', job({ input: { uri: 'in/sales.csv' } }))).status).toBe(403);

    // The other tenant's job over the same file finds none of our models.
    const theirs = await as(publisher, 'POST', '/v1/batch-jobs', job({ input: { uri: 'in/sales.csv' }, errorThreshold: 0 }));
    expect(theirs.status).toBe(202);
    const done = await waitForJob(t, theirs.body.id, undefined, 30_000, publisher);
    expect(done.status).toBe('failed');
    expect(done.errors.map((e: { error: string }) => e.error)).toEqual(Array(6).fill(expect.stringContaining('MODEL_NOT_FOUND')));
    expect((await t.request('GET', `/v1/batch-jobs/${theirs.body.id}`)).status).toBe(404);
  });

  it('shows the first 100 partitions with errors and says how many there are', async () => {
    const input = makeRows(130, 5, (i) => ({ model: `nobody-${String(i).padStart(3, '0')}` }));
    writeInput(t, 'in/nobody.csv', 'csv', input, ['id', 'date', 'model', ...FEATURES]);
    const done = await waitForJob(t, (await submit(job({ input: { uri: 'in/nobody.csv', format: 'csv' }, output: { format: 'csv' } }))).body.id);
    expect(done.progress.partitions.failed).toBe(130);
    expect(done.errors).toHaveLength(100);
    expect(done.errors[0]).toMatchObject({ route: 'nobody-000', error: expect.stringContaining('MODEL_NOT_FOUND') });
    expect(done.errorsTotal).toBe(130);
  });

  it('lists jobs newest first with a cursor and a status filter', async () => {
    const first = await t.request('GET', '/v1/batch-jobs?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.request('GET', `/v1/batch-jobs?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].id).not.toBe(first.body.items[1].id);
    expect(new Date(second.body.items[0].createdAt).getTime()).toBeLessThanOrEqual(new Date(first.body.items[1].createdAt).getTime());
    const failed = await t.request('GET', '/v1/batch-jobs?status=failed');
    for (const j of failed.body.items) expect(j.status).toBe('failed');
    expect((await t.request('GET', '/v1/batch-jobs?status=bogus')).status).toBe(400);
  });
});
