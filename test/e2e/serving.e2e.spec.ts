import * as http from 'node:http';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { buildHalfOutputModel, buildLinearModel, buildStoreCodeModel, buildTypedModel, buildVectorScaleModel, buildWideOutputModel, buildZerosOfLengthModel, defaultFixtures, FixtureTensorSpec, onnxGraph, RETAIL_FEATURES, RETAIL_SAMPLE_ROWS, TabularFixtureModel } from '../fixtures/onnx-builder';
import { buildZip } from '../support/mlflow-zip';
import { artifactForm, ROOT_TOKEN, startTestApp, TestApp, TestResponse } from '../support/test-app';

jest.setTimeout(120_000);

/** Outputs of onnxruntime against the fixture's reference, within float32 accumulation error. */
function expectClose(got: number[][], want: number[][]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((row, i) =>
    row.forEach((v, j) => {
      const tolerance = 1e-4 * Math.max(1, Math.abs(want[i][j]));
      if (!(Math.abs(v - want[i][j]) <= tolerance)) throw new Error(`row ${i}: got ${v}, expected ${want[i][j]} ± ${tolerance}`);
    }),
  );
}

/** A linear model whose output tells versions apart: y = sum(x) + bias. */
const linear = (bias: number): TabularFixtureModel => buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias });
const ROW = RETAIL_SAMPLE_ROWS[1];
/** An OIP request to the typed fixture (every dtype, nested and flat data) asking for two outputs in an order of its own. */
const TYPED_OIP_REQUEST = {
  inputs: [
    { name: 'a', shape: [2, 2], datatype: 'FP64', data: [[1, 2], [3, 4]] },
    { name: 'b', shape: [2, 2], datatype: 'INT64', data: [[1, 2], [3, 4]] },
    { name: 'c', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] },
    { name: 'd', shape: [2, 1], datatype: 'BOOL', data: [true, false] },
  ],
  outputs: [{ name: 'd_not' }, { name: 'sum_b' }],
};
const ROW_SUM = ROW.reduce((a, b) => a + b, 0);

/** An MLflow model directory whose signature names the columns (column-based, as mlflow.onnx logs a DataFrame); columns are doubles unless `types` says. */
function mlflowColumnsZip(onnx: Buffer, columns: readonly string[], types: Record<string, string> = {}): Promise<Buffer> {
  const mlmodel = [
    'artifact_path: model',
    'flavors:',
    '  onnx:',
    '    data: model.onnx',
    '    onnx_version: 1.16.0',
    '  python_function:',
    '    data: model.onnx',
    '    loader_module: mlflow.onnx',
    'mlflow_version: 2.17.0',
    'run_id: 0123456789abcdef',
    'signature:',
    `  inputs: '${JSON.stringify(columns.map((name) => ({ type: types[name] ?? 'double', name })))}'`,
    `  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}]'`,
  ].join('\n');
  return buildZip([
    { name: 'MLmodel', data: mlmodel },
    { name: 'model.onnx', data: onnx },
  ]);
}

describe('online inference over HTTP', () => {
  let t: TestApp;
  const fixtures = defaultFixtures();
  const typed = buildTypedModel();

  const upload = async (name: string, bytes: Buffer, fields: Parameters<typeof artifactForm>[1] = {}) => {
    const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes, fields) });
    if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { version: number; sha256: string };
  };
  const predict = (body: object, headers?: Record<string, string>) => t.request('POST', '/v1/predict', { body, headers });
  const predictRow = (target: object, row = ROW) => predict({ ...target, inputs: { float_input: [row] } });
  const versionOf = (res: TestResponse) => {
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    expect(res.headers.get('x-model-version')).toBe(String(res.body.version));
    return res.body.version as number;
  };
  /** The bias of the linear model that answered: tells which model or version served. */
  const biasOf = (res: TestResponse) => Math.round(res.body.outputs.variable[0][0] - ROW_SUM);

  beforeAll(async () => {
    t = await startTestApp({ MMS_WORKERS: '2' });
    await upload('demand-linear', fixtures.linear.bytes);
    await upload('demand-tree', fixtures.tree.bytes);
    await upload('demand-mlp', fixtures.mlp.bytes);
    await upload('typed', typed.bytes);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('starts its inference workers at boot, before any model is loaded', async () => {
    const workers = ((await t.request('GET', '/v1/cache')).body as { workers: Array<{ worker: number; models: number }> }).workers;
    expect(workers.map((w) => [w.worker, w.models])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });

  describe('predict by name', () => {
    it.each(['linear', 'tree', 'mlp'] as const)('answers a %s model as its reference computes it', async (kind) => {
      const res = await predict({ model: `demand-${kind}`, inputs: { float_input: RETAIL_SAMPLE_ROWS } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ model: `demand-${kind}`, version: 1, predictionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(res.headers.get('x-model-version')).toBe('1');
      expectClose(res.body.outputs.variable, fixtures[kind].expected(RETAIL_SAMPLE_ROWS));
    });

    it('accepts {"shape", "data"} as well as nested arrays', async () => {
      const res = await predict({ model: 'demand-tree', inputs: { float_input: { shape: [RETAIL_SAMPLE_ROWS.length, 6], data: RETAIL_SAMPLE_ROWS.flat() } } });
      expect(res.status).toBe(200);
      expectClose(res.body.outputs.variable, fixtures.tree.expected(RETAIL_SAMPLE_ROWS));
    });

    it('feeds float64, int64, int32 and bool inputs and answers each output with its shape', async () => {
      const inputs = { a: [[1.25, 2.5], [-1, 0.125]], b: [[2 ** 40, 7], [-3, 3]], c: [[5, -6], [7, 8]], d: [[true], [false]] };
      const res = await predict({ model: 'typed', inputs });
      expect(res.status).toBe(200);
      const want = typed.expected(inputs);
      expect(res.body.outputs).toEqual({ sum_a: want.sum_a, sum_b: want.sum_b.map((r) => r.map(Number)), c_out: want.c_out, d_not: want.d_not });
      const shaped = await predict({ model: 'typed', inputs: { a: { shape: [1, 2], data: [1, 2] }, b: { shape: [1, 2], data: [3, 4] }, c: { shape: [1, 2], data: [5, 6] }, d: { shape: [1, 1], data: [false] } } });
      expect(shaped.body.outputs).toEqual({ sum_a: [[3]], sum_b: [[7]], c_out: [[10, 12]], d_not: [[true]] });
    });

    it('feeds a string (categorical) input through every protocol, merged with concurrent requests and in a big body', async () => {
      const model = buildStoreCodeModel({ '0042': 100, '0043': 200 });
      await upload('store-code', model.bytes);
      const stores = ['0042', '0043', '9999'];
      const xs = [1.5, 2.5, 3.5];
      const want = model.expected(stores, xs);
      const v1 = await predict({ model: 'store-code', inputs: { store: stores.map((s) => [s]), x: xs.map((x) => [x]) } });
      expect(v1.status).toBe(200);
      expect(v1.body.outputs.y).toEqual(want);
      const shaped = await predict({ model: 'store-code', inputs: { store: { shape: [3, 1], data: stores }, x: { shape: [3, 1], data: xs } } });
      expect(shaped.body.outputs.y).toEqual(want);
      const oip = await t.request('POST', '/v2/models/store-code/infer', {
        body: { inputs: [{ name: 'store', datatype: 'BYTES', shape: [3, 1], data: stores }, { name: 'x', datatype: 'FP32', shape: [3, 1], data: xs }] },
      });
      expect(oip.status).toBe(200);
      expect(oip.body.outputs[0].data).toEqual(want.flat());
      expect((await t.request('GET', '/v2/models/store-code')).body.inputs[0]).toEqual({ name: 'store', datatype: 'BYTES', shape: [-1, 1] });
      const mlflow = await t.request('POST', '/v1/models/store-code/invocations', { body: { inputs: { store: stores.map((s) => [s]), x: xs.map((x) => [x]) } } });
      expect(mlflow.status).toBe(200);
      expect(mlflow.body.predictions).toEqual({ y: want });
      const frame = await t.request('POST', '/v1/models/store-code/invocations', { body: { dataframe_split: { columns: ['x', 'store'], data: stores.map((s, i) => [xs[i], s]) } } });
      expect(frame.status).toBe(200);
      expect(frame.body.predictions).toEqual(want.map(([y]) => ({ y })));
      // Concurrent single rows are merged (the encoder keeps rows apart); each gets its own answer.
      const one = await Promise.all(stores.flatMap((s, i) => Array.from({ length: 8 }, () => predict({ model: 'store-code', inputs: { store: [[s]], x: [[xs[i]]] } }))));
      expect(one.map((r) => r.body.outputs.y)).toEqual(stores.flatMap((_, i) => Array(8).fill([want[i]])));
      // A body over 128 KiB is decoded in the JSON codec thread.
      const many = Array.from({ length: 12_000 }, (_, i) => stores[i % 3]);
      const big = await predict({ model: 'store-code', inputs: { store: many.map((s) => [s]), x: many.map(() => [1]) } });
      expect(big.status).toBe(200);
      expect(big.body.outputs.y.slice(0, 3)).toEqual(model.expected(stores, [1, 1, 1]));
      expect(big.body.outputs.y).toHaveLength(12_000);
      const wrong = await predict({ model: 'store-code', inputs: { store: [[42]], x: [[1]] } });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining("Input 'store' is string: expected strings (without the character U+0000), got the number 42") });
    });

    it('answers float16 outputs as the numbers they hold (onnxruntime hands over their 16-bit codes)', async () => {
      await upload('half-out', buildHalfOutputModel());
      const x = [[1.5, 65504], [70000, 0.1]];
      const want = [[1.5, 65504], [null, 0.0999755859375]]; // 70,000 is beyond float16: Infinity, answered null
      const v1 = await predict({ model: 'half-out', inputs: { x } });
      expect([v1.status, v1.body.outputs]).toEqual([200, { y: want }]);
      const oip = await t.request('POST', '/v2/models/half-out/infer', { body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: x.flat() }] } });
      expect(oip.body.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP16', shape: [2, 2], data: want.flat() });
      const mlflow = await t.request('POST', '/v1/models/half-out/invocations', { body: { inputs: { x } } });
      expect(mlflow.body.predictions).toEqual({ y: want });
      // Merged with concurrent requests, each still gets its own numbers.
      const rows = await Promise.all([0.5, 2, 3.25, -4].map((v) => predict({ model: 'half-out', inputs: { x: [[v, v]] } })));
      expect(rows.map((r) => r.body.outputs.y)).toEqual([0.5, 2, 3.25, -4].map((v) => [[v, v]]));
    });

    it('refuses (422) an answer of more values than a request may send, and goes on serving', async () => {
      await upload('zeros', buildZerosOfLengthModel());
      expect((await predict({ model: 'zeros', inputs: { n: [3] } })).body.outputs).toEqual({ y: [0, 0, 0] });
      const huge = await predict({ model: 'zeros', inputs: { n: [20_000_000] } });
      expect([huge.status, huge.body.error.code]).toEqual([422, 'INFERENCE_FAILED']);
      expect(huge.body.error.details.reason).toContain('the answer would hold 20000000 values, more than the 16777216 an answer may hold');
      const oip = await t.request('POST', '/v2/models/zeros/infer', { body: { inputs: [{ name: 'n', datatype: 'INT64', shape: [1], data: [20_000_000] }] } });
      expect([oip.status, oip.body.error.code]).toEqual([422, 'INFERENCE_FAILED']);
      expect((await t.request('GET', '/health/ready')).status).toBe(200);
      expect((await predict({ model: 'zeros', inputs: { n: [2] } })).body.outputs).toEqual({ y: [0, 0] });
    });

    it('takes int64 inputs as decimal strings, as int64 answers give them beyond 2^53, so an answer can be sent back', async () => {
      const small = await predict({ model: 'typed', inputs: { a: [[1, 2]], b: [['12', '-3']], c: [[1, 2]], d: [[true]] } });
      expect(small.body.outputs.sum_b).toEqual([[9]]);
      const big = await predict({ model: 'typed', inputs: { a: [[1, 2]], b: [['9007199254740992', 2]], c: [[1, 2]], d: [[true]] } });
      expect(big.body.outputs.sum_b).toEqual([['9007199254740994']]);
      const back = await predict({ model: 'typed', inputs: { a: [[1, 2]], b: [[big.body.outputs.sum_b[0][0], 0]], c: [[1, 2]], d: [[true]] } });
      expect(back.status).toBe(200);
      expect(back.body.outputs.sum_b).toEqual([['9007199254740994']]);
    });
  });

  describe('which version serves', () => {
    beforeAll(async () => {
      for (const bias of [10, 20, 30]) await upload('lifecycle', linear(bias).bytes);
    });

    it('serves the latest version when no alias says otherwise', async () => {
      const res = await predictRow({ model: 'lifecycle' });
      expect(versionOf(res)).toBe(3);
      expect(biasOf(res)).toBe(30);
    });

    it('serves an explicit version or alias', async () => {
      expect(biasOf(await predictRow({ model: 'lifecycle', version: 1 }))).toBe(10);
      // Optional fields sent as null (as Pydantic or Jackson clients do) are not given.
      expect(versionOf(await predictRow({ model: 'lifecycle', version: null, alias: null, segment: null, key: null }))).toBe(3);
      await t.request('PUT', '/v1/models/lifecycle/aliases/staging', { body: { version: 2 } });
      const staged = await predictRow({ model: 'lifecycle', alias: 'staging' });
      expect(versionOf(staged)).toBe(2);
      expect(biasOf(staged)).toBe(20);
    });

    it('follows alias production at once when it is set, moved or removed', async () => {
      await t.request('PUT', '/v1/models/lifecycle/aliases/production', { body: { version: 1 } });
      expect(versionOf(await predictRow({ model: 'lifecycle' }))).toBe(1);
      await t.request('PUT', '/v1/models/lifecycle/aliases/production', { body: { version: 2 } });
      expect(versionOf(await predictRow({ model: 'lifecycle' }))).toBe(2);
      await upload('lifecycle', linear(40).bytes);
      expect(versionOf(await predictRow({ model: 'lifecycle' }))).toBe(2);
      await t.request('DELETE', '/v1/models/lifecycle/aliases/production');
      const latest = await predictRow({ model: 'lifecycle' });
      expect(versionOf(latest)).toBe(4);
      expect(biasOf(latest)).toBe(40);
    });

    it('answers 404 for a missing model, version or alias', async () => {
      const cases: Array<[object, string]> = [
        [{ model: 'no-such-model' }, 'MODEL_NOT_FOUND'],
        [{ model: 'lifecycle', version: 99 }, 'VERSION_NOT_FOUND'],
        [{ model: 'lifecycle', alias: 'canary' }, 'ALIAS_NOT_FOUND'],
      ];
      for (const [target, code] of cases) {
        const res = await predictRow(target);
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe(code);
      }
    });

    it('finds a model registered right after a lookup missed it (no stale negative entry)', async () => {
      expect((await predictRow({ model: 'late-comer' })).status).toBe(404);
      await upload('late-comer', linear(5).bytes);
      expect(biasOf(await predictRow({ model: 'late-comer' }))).toBe(5);
    });

    it('stops serving a deleted version or model at once, and serves a re-registered one fresh', async () => {
      await upload('short-lived', linear(1).bytes);
      await upload('short-lived', linear(2).bytes);
      expect(biasOf(await predictRow({ model: 'short-lived' }))).toBe(2);
      expect((await t.request('DELETE', '/v1/models/short-lived/versions/2')).status).toBe(204);
      expect(biasOf(await predictRow({ model: 'short-lived' }))).toBe(1);
      expect((await t.request('DELETE', '/v1/models/short-lived')).status).toBe(204);
      expect((await predictRow({ model: 'short-lived' })).body.error.code).toBe('MODEL_NOT_FOUND');
      await upload('short-lived', linear(3).bytes);
      const again = await predictRow({ model: 'short-lived' });
      expect(versionOf(again)).toBe(1);
      expect(biasOf(again)).toBe(3);
    });
  });

  describe('predict by segment', () => {
    beforeAll(async () => {
      await upload('seg-north', linear(100).bytes, { segment: { region: 'north' } });
      await upload('seg-north-0042', linear(200).bytes, { segment: { region: 'north', store: '0042' } });
      await upload('seg-b-east', linear(300).bytes, { segment: { region: 'east', store: '0001' } });
      await upload('seg-a-east', linear(400).bytes, { segment: { region: 'east', channel: 'web' } });
      await upload('seg-east', linear(500).bytes, { segment: { region: 'east' } });
    });

    it("serves a store's own model", async () => {
      const res = await predictRow({ segment: { region: 'north', store: '0042' } });
      expect(res.body.model).toBe('seg-north-0042');
      expect(biasOf(res)).toBe(200);
    });

    it("falls back to the region's model for a store without one", async () => {
      const res = await predictRow({ segment: { region: 'north', store: '0007' } });
      expect(res.body.model).toBe('seg-north');
      expect(biasOf(res)).toBe(100);
    });

    it('breaks a tie between equally specific models by name', async () => {
      expect((await predictRow({ segment: { store: '0001', region: 'east', channel: 'web' } })).body.model).toBe('seg-a-east');
    });

    it('honours alias and version on the matched model', async () => {
      await upload('seg-north', linear(110).bytes);
      await t.request('PUT', '/v1/models/seg-north/aliases/production', { body: { version: 1 } });
      expect(biasOf(await predictRow({ segment: { region: 'north' } }))).toBe(100);
      expect(biasOf(await predictRow({ segment: { region: 'north' }, version: 2 }))).toBe(110);
    });

    it("falls back past a store's model whose last version was deleted, and back to it once it has one again", async () => {
      await upload('seg-north-0098', linear(600).bytes, { segment: { region: 'north', store: '0098' } });
      expect((await predictRow({ segment: { region: 'north', store: '0098' } })).body.model).toBe('seg-north-0098');
      expect((await t.request('DELETE', '/v1/models/seg-north-0098/versions/1')).status).toBe(204);
      const fallback = await predictRow({ segment: { region: 'north', store: '0098' } });
      expect([fallback.status, fallback.body.model]).toEqual([200, 'seg-north']);
      await upload('seg-north-0098', linear(700).bytes);
      const own = await predictRow({ segment: { region: 'north', store: '0098' } });
      expect([own.body.model, own.body.version, biasOf(own)]).toEqual(['seg-north-0098', 2, 700]);
    });

    it('answers 404 NO_MODEL_FOR_SEGMENT when nothing matches', async () => {
      const res = await predictRow({ segment: { region: 'west', store: '0042' } });
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'NO_MODEL_FOR_SEGMENT', details: { segment: { region: 'west', store: '0042' } } });
    });

    it('sees a more specific model as soon as it is registered, and a segment patch at once', async () => {
      expect((await predictRow({ segment: { region: 'north', store: '0099' } })).body.model).toBe('seg-north');
      await upload('seg-north-0099', linear(600).bytes, { segment: { region: 'north', store: '0099' } });
      expect((await predictRow({ segment: { region: 'north', store: '0099' } })).body.model).toBe('seg-north-0099');
      await t.request('PATCH', '/v1/models/seg-north-0099', { body: { segment: { store: '0100' } } });
      expect((await predictRow({ segment: { region: 'north', store: '0099' } })).body.model).toBe('seg-north');
      expect((await predictRow({ segment: { region: 'north', store: '0100' } })).body.model).toBe('seg-north-0099');
    });
  });

  describe('input errors answer 400 naming the input', () => {
    const row6 = [[1, 0, 4.5, 120, 98, 14]];
    it.each([
      ['an unknown input', { float_input: row6, extra: row6 }, "Unknown input 'extra'", { input: 'extra' }],
      ['a missing input', {}, "Missing input 'float_input' (float32, shape [N, 6])", { input: 'float_input' }],
      ['a string where float32 is expected', { float_input: [[1, 0, '4.5', 120, 98, 14]] }, 'float32: expected numbers, got the string "4.5" at [0][2]', { at: '[0][2]' }],
      ['a wrong rank', { float_input: [1, 0, 4.5, 120, 98, 14] }, 'expected rank 2 (shape [N, 6]), got rank 1 (shape [6])', { expected: { rank: 2 } }],
      ['a wrong fixed dimension', { float_input: [[1, 0, 4.5, 120, 98]] }, 'dimension 1 must be 6 (shape [N, 6]), got 5', { dimension: 1 }],
      ['a ragged row', { float_input: [row6[0], [1, 2]] }, 'ragged', { at: '[1]' }],
      ['data that does not fill the shape', { float_input: { shape: [2, 6], data: row6[0] } }, 'needs 12 values, data has 6', {}],
      ['a tensor that is not an array', { float_input: 'x' }, 'must be a nested array or {"shape"', {}],
      ['a number beyond float32', { float_input: [[1, 0, 1e39, 120, 98, 14]] }, "float32: expected numbers, got the number 1e+39, beyond float32's range (±3.4e38) at [0][2]", { at: '[0][2]' }],
    ])('for %s', async (_what, inputs, message, details) => {
      const res = await predict({ model: 'demand-linear', inputs });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.message).toContain(message);
      expect(res.body.error.details).toMatchObject(details);
    });

    it.each([
      ['a fractional int64', { b: [[1.5, 2]] }, "Input 'b' is int64: expected integers from -9223372036854775808 to 9223372036854775807"],
      ['a non-decimal string int64', { b: [['0x1', 2]] }, 'got the string "0x1" at [0][0]'],
      ['an int64 beyond its range', { b: [[-1e30, 2]] }, 'got the number -1e+30 at [0][0]'],
      ['a number for bool', { d: [[1]] }, "Input 'd' is bool: expected booleans (true or false), got the number 1"],
      ['a mismatched batch size', { b: [[1, 2], [3, 4]] }, "Input 'b' has N = 2 (dimension 0) but input 'a' has N = 1"],
    ])('for %s', async (_what, override, message) => {
      const res = await predict({ model: 'typed', inputs: { a: [[1, 2]], b: [[1, 2]], c: [[1, 2]], d: [[true]], ...override } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.message).toContain(message);
    });

    it('answers 400 for malformed envelopes', async () => {
      for (const body of [{ model: 'demand-linear' }, { model: 'demand-linear', version: 1, alias: 'x', inputs: {} }, { inputs: {} }, { model: 'demand-linear', inputs: {}, extra: 1 }]) {
        const res = await predict(body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('INVALID_REQUEST');
      }
      const broken = await fetch(`${t.baseUrl}/v1/predict`, { method: 'POST', headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"model": ' });
      expect(broken.status).toBe(400);
    });

    it('says where a body is not JSON, and that a __proto__ key is refused (fast lane and Fastify alike)', async () => {
      const send = (path: string, body: string) =>
        fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body }).then(async (res) => ({ status: res.status, body: (await res.json()) as { error: Record<string, unknown> } }));
      for (const path of ['/v1/predict', '/v1/predict?via=fastify', '/v1/predict/fanout']) {
        const broken = await send(path, '{"model": ');
        expect(broken.status).toBe(400);
        expect(broken.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/^Body is not valid JSON: .*JSON/) });
        const poisoned = await send(path, '{"model": "demand-linear", "inputs": {}, "__proto__": {"admin": true}}');
        expect(poisoned.status).toBe(400);
        expect(poisoned.body.error).toEqual({ code: 'INVALID_REQUEST', message: expect.stringContaining("'__proto__' or 'constructor.prototype' key"), details: {} });
      }
    });

    it('answers 415 saying to send JSON for a form or plain-text body (curl -d without a content type)', async () => {
      for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'text/csv', 'application/xml', 'application/octet-stream', 'application/vnd.api+json', 'multipart/form-data; boundary=x']) {
        for (const path of ['/v1/predict', '/v2/models/demand-linear/infer', '/v1/batch-jobs']) {
          const res = await fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': type }, body: '{"model":"demand-linear"}' });
          expect(res.status).toBe(415);
          const { error } = (await res.json()) as { error: { code: string; message: string } };
          expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('content-type: application/json') });
          expect(error.message).toContain(`Unsupported Media Type: ${type.split(';')[0]}`);
        }
      }
    });

    it('answers 400 for a body that is not valid UTF-8 (a Latin-1 store code would otherwise be scored as another category), small or big, JSON or CSV', async () => {
      await upload('utf8-store', buildStoreCodeModel({ caf\u00e9: 1 }).bytes);
      const post = (path: string, type: string, text: string) =>
        fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': type }, body: Buffer.from(text, 'latin1') });
      const padding = ' '.repeat(130 * 1024); // over 128 KiB: parsed in the JSON codec thread
      for (const [path, type, text] of [
        ['/v1/predict', 'application/json', '{"model":"utf8-store","inputs":{"store":[["caf\u00e9"]],"x":[[1]]}}'],
        ['/v1/predict?via=fastify', 'application/json', '{"model":"utf8-store","inputs":{"store":[["caf\u00e9"]],"x":[[1]]}}'],
        ['/v1/predict', 'application/json', `{"model":"utf8-store","inputs":{"store":[["caf\u00e9"]],"x":[[1]]}}${padding}`],
        ['/v2/models/utf8-store/infer', 'application/json', '{"inputs":[{"name":"store","shape":[1,1],"datatype":"BYTES","data":["caf\u00e9"]},{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}'],
        ['/v1/models/utf8-store/invocations', 'application/json', '{"inputs":{"store":[["caf\u00e9"]],"x":[[1]]}}'],
        ['/v1/models/utf8-store/invocations', 'text/csv', 'store,x\ncaf\u00e9,1\n'],
        ['/v1/models/utf8-store/invocations', 'text/csv', `store,x\ncaf\u00e9,1\n${'\n'.repeat(130 * 1024)}`],
      ] as const) {
        const res = await post(path, type, text);
        const body = (await res.json()) as { error?: { code: string; message: string } };
        expect({ path, type, big: text.length > 128 * 1024, status: res.status, error: body.error }).toEqual({
          path,
          type,
          big: text.length > 128 * 1024,
          status: 400,
          error: expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('not valid UTF-8') }),
        });
      }
      // The same text in UTF-8 is scored.
      const utf8 = await predict({ model: 'utf8-store', inputs: { store: [['caf\u00e9']], x: [[1]] } });
      expect(utf8.status).toBe(200);
    });

    it('answers 415 for a compressed body or JSON in another charset than UTF-8, on every prediction route', async () => {
      const body = JSON.stringify({ model: 'demand-linear', inputs: { float_input: [[1, 0, 3.49, 55, 51, 22]] } });
      const post = (path: string, headers: Record<string, string>, payload: Buffer | string = body) =>
        fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': 'application/json', ...headers }, body: payload });
      const oip = JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: [1, 0, 3.49, 55, 51, 22] }] });
      const mlflow = JSON.stringify({ inputs: [[1, 0, 3.49, 55, 51, 22]] });
      for (const [path, payload] of [
        ['/v1/predict', body], // the fast lane declines it, Fastify refuses it
        ['/v1/predict?via=fastify', body],
        ['/v2/models/demand-linear/infer', oip],
        ['/v1/models/demand-linear/invocations', mlflow],
      ]) {
        const gzipped = await post(path, { 'content-encoding': 'gzip' }, zlib.gzipSync(payload));
        expect({ path, status: gzipped.status }).toEqual({ path, status: 415 });
        expect(((await gzipped.json()) as { error: unknown }).error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: "Content-Encoding 'gzip' is not supported: send the body uncompressed", details: { contentEncoding: 'gzip' } });
        // Plain bytes labelled gzip were read as JSON before: refused as well.
        expect((await post(path, { 'content-encoding': 'gzip' }, payload)).status).toBe(415);
        const utf16 = await post(path, { 'content-type': 'application/json; charset=utf-16' }, payload);
        expect({ path, status: utf16.status }).toEqual({ path, status: 415 });
        expect(((await utf16.json()) as { error: { message: string } }).error.message).toBe("JSON in charset 'utf-16' is not supported: send it in UTF-8");
        const readable: Array<Record<string, string>> = [{ 'content-encoding': 'identity' }, { 'content-type': 'application/json; charset=UTF-8' }, { 'content-type': 'application/json;charset="utf-8"' }];
        for (const headers of readable) {
          expect({ path, headers, status: (await post(path, headers, payload)).status }).toEqual({ path, headers, status: 200 });
        }
      }
    });

    it("answers a malformed path, an overlong one and malformed HTTP with API.md's error body", async () => {
      const get = (path: string) => fetch(`${t.baseUrl}${path}`, { headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}` } });
      for (const path of ['/v2/models/a%ZZ', '/v2/models/a%ZZ/ready', '/v1/models/%E0%A4%A/versions']) {
        const res = await get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(((await res.json()) as { error: unknown }).error).toEqual({ code: 'INVALID_REQUEST', message: expect.stringContaining('is not valid'), details: {} });
      }
      const long = await get(`/v2/models/${'x'.repeat(2000)}`);
      expect(long.status).toBe(400);
      expect(((await long.json()) as { error: { code: string } }).error.code).toBe('INVALID_REQUEST');
      const { port } = new URL(t.baseUrl);
      // A GET's body is never read: its encoding does not matter.
      expect((await rawHttp(Number(port), 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\nxx')).split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      for (const [request, status, code] of [
        ['GET /v1/cache HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'INVALID_REQUEST'],
        ['NOT HTTP AT ALL\r\n\r\n', 400, 'INVALID_REQUEST'],
        [`GET /v1/cache HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      ] as const) {
        const answer = await rawHttp(Number(port), request);
        expect(answer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : 'Request Header Fields Too Large'}`);
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
      }
    });

    it('reads a JSON content type with an empty body as no body: the route answers, as without the header', async () => {
      const send = (method: string, path: string, withType: boolean) =>
        fetch(`${t.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, ...(withType ? { 'content-type': 'application/json' } : {}) } });
      // Optional bodies: the same answer either way (a load, a cancel of a job that does not exist).
      for (const [method, path] of [
        ['POST', '/v1/models/demand-linear/load'],
        ['POST', '/v1/batch-jobs/00000000-0000-0000-0000-000000000000/cancel'],
        ['DELETE', '/v1/models/demand-linear/aliases/nowhere'],
      ]) {
        const plain = await send(method, path, false);
        const typed = await send(method, path, true);
        expect({ path, status: typed.status }).toEqual({ path, status: plain.status });
        expect(typed.status).not.toBe(400);
      }
      // Required bodies: the route's own 400, never a 5xx.
      for (const [method, path] of [
        ['POST', '/v1/predict'],
        ['POST', '/v2/models/demand-linear/infer'],
        ['POST', '/v1/batch-jobs'],
        ['POST', '/v1/models/demand-linear/invocations'],
        ['POST', '/v1/tenants'],
        ['PUT', '/v1/models/demand-linear/aliases/staging'],
      ]) {
        const res = await send(method, path, true);
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(((await res.json()) as { error: { message: string } }).error.message).not.toMatch(/Body cannot be empty/);
      }
    });
  });

  describe('the fast lane and the Fastify route of /v1/predict answer alike', () => {
    // A small body with a Content-Length takes the fast lane (serving/predict-fast-lane.ts); the
    // same bytes sent chunked (no Content-Length) or with a query string go through Fastify.
    type Door = 'lane' | 'chunked' | 'query';
    const post = (door: Door, text: string, headers: Record<string, string>) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        const url = new URL(`${t.baseUrl}/v1/predict${door === 'query' ? '?via=fastify' : ''}`);
        const req = http.request(url, { method: 'POST', headers: { ...headers, ...(door === 'chunked' ? {} : { 'content-length': Buffer.byteLength(text) }) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on('error', reject);
        // Two writes: without a Content-Length, Node sends them as chunks.
        req.write(text.slice(0, 5));
        req.end(text.slice(5));
      });
    const auth = { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' };
    beforeAll(async () => {
      await upload('door-east', linear(60).bytes, { segment: { region: 'door-east' } });
    });
    const ok = JSON.stringify({ model: 'demand-linear', inputs: { float_input: [ROW] } });
    it.each([
      ['a prediction', ok, auth],
      ['a prediction with a routing key and a charset', JSON.stringify({ model: 'demand-linear', key: 'store-7', inputs: { float_input: [ROW, ROW] } }), { ...auth, 'content-type': 'application/json; charset=utf-8', 'x-routing-key': 'x' }],
      ['a prediction by segment', JSON.stringify({ segment: { region: 'door-east', store: '7' }, inputs: { float_input: [ROW] } }), auth],
      ['no credential', ok, { 'content-type': 'application/json' }],
      ['a wrong credential', ok, { ...auth, authorization: 'Bearer mms_nothing' }],
      ['malformed JSON', ok.slice(0, -2), auth],
      ['a prototype-poisoning key', ok.replace('{"model"', '{"__proto__":{"x":1},"model"'), auth],
      ['an unknown model', ok.replace('demand-linear', 'no-such-model'), auth],
      ['an invalid input', ok.replace('[[', '[["x",'), auth],
      ['an unknown field', ok.replace('{"model"', '{"extra":1,"model"'), auth],
      ['a JSON array', '[1,2]', auth],
    ])('for %s', async (_what, text, headers) => {
      const answers = await Promise.all((['lane', 'chunked', 'query'] as const).map((door) => post(door, text, { ...headers, 'x-request-id': `door-${door}` })));
      const comparable = ({ status, headers: h, body }: Awaited<ReturnType<typeof post>>) => ({
        status,
        contentType: h['content-type'],
        modelVersion: h['x-model-version'],
        body: body.predictionId ? { ...body, predictionId: 'id' } : body,
      });
      const [lane, ...others] = answers;
      for (const other of others) expect(comparable(other)).toEqual(comparable(lane));
      answers.forEach((a, i) => expect(a.headers['x-request-id']).toBe(`door-${['lane', 'chunked', 'query'][i]}`));
      expect(lane.status).toBeLessThan(500);
    });

    it('lets a client that leaves halfway through its body go without an error, and goes on serving', async () => {
      const url = new URL(t.baseUrl);
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(url.port), url.hostname, () => {
          socket.write(`POST /v1/predict HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ROOT_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${ok.length}\r\n\r\n${ok.slice(0, 10)}`);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 200));
      expect((await post('lane', ok, auth)).status).toBe(200);
      expect(t.output()).not.toMatch(/client closed the connection|Internal server error/);
    });
  });

  it('answers a fanout in request order with an error in the failing slot', async () => {
    const res = await t.request('POST', '/v1/predict/fanout', {
      body: {
        requests: [
          { model: 'demand-tree', inputs: { float_input: [RETAIL_SAMPLE_ROWS[0]] } },
          { model: 'demand-linear', inputs: { float_input: [[1, 2]] } },
          { model: 'no-such-model', inputs: { float_input: [RETAIL_SAMPLE_ROWS[0]] } },
          { segment: { region: 'north', store: '0042' }, inputs: { float_input: [ROW] } },
          { model: 'demand-mlp', inputs: { float_input: [RETAIL_SAMPLE_ROWS[2]] } },
          null,
        ],
      },
    });
    expect(res.status).toBe(200);
    const results = res.body.results;
    expect(results).toHaveLength(6);
    expect(results[5].error).toEqual({ code: 'INVALID_REQUEST', message: 'requests[5] must be a JSON object', details: { field: 'requests[5]' } });
    expectClose(results[0].outputs.variable, fixtures.tree.expected([RETAIL_SAMPLE_ROWS[0]]));
    expect(results[1].error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'float_input' } });
    expect(results[2].error.code).toBe('MODEL_NOT_FOUND');
    expect(results[3].model).toBe('seg-north-0042');
    expectClose(results[4].outputs.variable, fixtures.mlp.expected([RETAIL_SAMPLE_ROWS[2]]));
    expect((await t.request('POST', '/v1/predict/fanout', { body: { requests: [] } })).status).toBe(400);
  });

  describe('Open Inference Protocol', () => {
    it('describes the server and a model, dynamic dimensions as -1', async () => {
      expect((await t.request('GET', '/v2')).body).toEqual({ name: 'many-models-serving', version: expect.any(String), extensions: ['model_configuration'] });
      const meta = await t.request('GET', '/v2/models/typed');
      expect(meta.body).toEqual({
        name: 'typed',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [
          { name: 'a', datatype: 'FP64', shape: [-1, 2] },
          { name: 'b', datatype: 'INT64', shape: [-1, 2] },
          { name: 'c', datatype: 'INT32', shape: [-1, 2] },
          { name: 'd', datatype: 'BOOL', shape: [-1, 1] },
        ],
        outputs: [
          { name: 'sum_a', datatype: 'FP64', shape: [-1, 1] },
          { name: 'sum_b', datatype: 'INT64', shape: [-1, 1] },
          { name: 'c_out', datatype: 'INT32', shape: [-1, 2] },
          { name: 'd_not', datatype: 'BOOL', shape: [-1, 1] },
        ],
      });
      expect((await t.request('GET', '/v2/models/lifecycle')).body.versions).toEqual(['1', '2', '3', '4']);
      expect((await t.request('GET', '/v2/models/lifecycle/versions/2')).body).toMatchObject({ name: 'lifecycle', versions: ['2'] });
      expect((await t.request('GET', '/v2/models/nope')).status).toBe(404);
    });

    it('answers readiness', async () => {
      expect((await t.request('GET', '/v2/models/demand-tree/ready')).body).toMatchObject({ name: 'demand-tree', ready: true });
      expect((await t.request('GET', '/v2/models/lifecycle/versions/staging/ready')).body).toMatchObject({ version: '2', ready: true });
      expect((await t.request('GET', '/v2/models/lifecycle/versions/9/ready')).status).toBe(404);
      expect((await t.request('GET', '/v2/models/lifecycle/versions/2147483647/ready')).status).toBe(404);
      const huge = await t.request('GET', '/v2/models/lifecycle/versions/99999999999999999999/ready');
      expect(huge.status).toBe(400);
      expect(huge.body.error.message).toBe("Version '99999999999999999999' must be a version number (a whole number from 1 to 2147483647) or an alias");
    });

    it('infers with flat data and answers flat, row-major outputs', async () => {
      const res = await t.request('POST', '/v2/models/demand-mlp/infer', {
        body: { id: 'req-1', inputs: [{ name: 'float_input', shape: [RETAIL_SAMPLE_ROWS.length, 6], datatype: 'FP32', data: RETAIL_SAMPLE_ROWS.flat() }] },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ model_name: 'demand-mlp', model_version: '1', id: 'req-1' });
      expect(res.headers.get('x-model-version')).toBe('1');
      expect(res.body.outputs).toHaveLength(1);
      expect(res.body.outputs[0]).toMatchObject({ name: 'variable', datatype: 'FP32', shape: [RETAIL_SAMPLE_ROWS.length, 1] });
      expectClose(
        res.body.outputs[0].data.map((v: number) => [v]),
        fixtures.mlp.expected(RETAIL_SAMPLE_ROWS),
      );
    });

    it('infers with nested data, picks outputs, and takes a version or alias in the path', async () => {
      const res = await t.request('POST', '/v2/models/typed/versions/1/infer', { body: TYPED_OIP_REQUEST });
      expect(res.status).toBe(200);
      // The outputs asked for, in the order asked.
      expect(res.body.outputs).toEqual([
        { name: 'd_not', datatype: 'BOOL', shape: [2, 1], data: [false, true] },
        { name: 'sum_b', datatype: 'INT64', shape: [2, 1], data: [3, 7] },
      ]);
      // An empty list asks for every output, as no list does (Triton's reading).
      const all = await t.request('POST', '/v2/models/demand-linear/infer', { body: { outputs: [], inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: ROW }] } });
      expect(all.body.outputs.map((o: { name: string }) => o.name)).toEqual(['variable']);
      const byAlias = await t.request('POST', '/v2/models/lifecycle/versions/staging/infer', { body: { inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: ROW }] } });
      expect(byAlias.body.model_version).toBe('2');
      expect(byAlias.headers.get('x-model-version')).toBe('2');
    });

    it('answers 400 for a wrong datatype, shape or output name', async () => {
      const input = { name: 'float_input', shape: [1, 6], datatype: 'FP32', data: ROW };
      const cases = [
        [{ inputs: [{ ...input, datatype: 'INT64' }] }, 'INVALID_INPUT', 'is FP32 in the model, got datatype "INT64"'],
        [{ inputs: [{ ...input, datatype: undefined }] }, 'INVALID_INPUT', 'is FP32 in the model, got no datatype (it is required)'],
        [{ inputs: [{ ...input, shape: [1, 5] }] }, 'INVALID_INPUT', 'dimension 1 must be 6'],
        [{ inputs: [{ ...input, shape: [2, 6] }] }, 'INVALID_INPUT', 'needs 12 values'],
        [{ inputs: [input, input] }, 'INVALID_INPUT', 'given twice'],
        [{ inputs: [input], outputs: [{ name: 'nope' }] }, 'INVALID_REQUEST', "Unknown output 'nope'"],
        [{ inputs: [input], outputs: [{}] }, 'INVALID_REQUEST', 'outputs[0] needs a name'],
        [{ id: 42, inputs: [input] }, 'INVALID_REQUEST', 'id must be a string, got a number'],
        [{ inputs: [] }, 'INVALID_REQUEST', 'non-empty array'],
      ] as const;
      for (const [body, code, message] of cases) {
        const res = await t.request('POST', '/v2/models/demand-linear/infer', { body });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe(code);
        expect(res.body.error.message).toContain(message);
      }
    });
  });

  describe('MLflow scoring protocol', () => {
    const columns = [...RETAIL_FEATURES];
    const shuffled = [5, 0, 3, 1, 4, 2];

    beforeAll(async () => {
      await upload('mlflow-demand', await mlflowColumnsZip(fixtures.tree.bytes, columns), { filename: 'model.zip' });
    });

    it('scores dataframe_split, in the signature column order whatever order the columns come in', async () => {
      const res = await t.request('POST', '/v1/models/mlflow-demand/invocations', {
        body: { dataframe_split: { columns: shuffled.map((i) => columns[i]), data: RETAIL_SAMPLE_ROWS.map((r) => shuffled.map((i) => r[i])) } },
      });
      expect(res.status).toBe(200);
      expect(res.body.predictions).toHaveLength(RETAIL_SAMPLE_ROWS.length);
      expectClose(
        res.body.predictions.map((p: { variable: number }) => [p.variable]),
        fixtures.tree.expected(RETAIL_SAMPLE_ROWS),
      );
    });

    it('scores dataframe_records', async () => {
      const records = RETAIL_SAMPLE_ROWS.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
      const res = await t.request('POST', '/v1/models/mlflow-demand/invocations', { body: { dataframe_records: records } });
      expect(res.status).toBe(200);
      expectClose(
        res.body.predictions.map((p: { variable: number }) => [p.variable]),
        fixtures.tree.expected(RETAIL_SAMPLE_ROWS),
      );
    });

    it('scores instances and inputs as tensors', async () => {
      for (const key of ['instances', 'inputs']) {
        const res = await t.request('POST', '/v1/models/demand-linear/invocations', { body: { [key]: RETAIL_SAMPLE_ROWS } });
        expect(res.status).toBe(200);
        expectClose(res.body.predictions.variable, fixtures.linear.expected(RETAIL_SAMPLE_ROWS));
      }
      const multi = await t.request('POST', '/v1/models/typed/invocations', { body: { inputs: { a: [[1, 2]], b: [[3, 4]], c: [[5, 6]], d: [[true]] } } });
      expect(multi.body.predictions).toEqual({ sum_a: [[3]], sum_b: [[7]], c_out: [[10, 12]], d_not: [[false]] });
    });

    it('answers 400 for a missing column or an unknown format', async () => {
      const missing = await t.request('POST', '/v1/models/mlflow-demand/invocations', { body: { dataframe_split: { columns: columns.slice(1), data: [ROW.slice(1)] } } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toContain("Missing column 'day_of_week'");
      const unknown = await t.request('POST', '/v1/models/mlflow-demand/invocations', { body: { records: [] } });
      expect(unknown.status).toBe(400);
    });

    describe('columns, records and dicts as MLflow clients send them', () => {
      // y = x0 + 10·x1 + 100·x2: the answer tells which value fed which feature.
      const digits = buildLinearModel({ weights: [1, 10, 100], bias: 0, inputName: 'x' });
      const invoke = (model: string, body: object) => t.request('POST', `/v1/models/${model}/invocations`, { body });
      beforeAll(async () => {
        await upload('mlflow-x', digits.bytes);
        await upload('mlflow-v', buildVectorScaleModel({ factor: 2 }));
        await upload('mlflow-abc', await mlflowColumnsZip(digits.bytes, ['alpha', 'beta', 'gamma']), { filename: 'model.zip' });
      });

      it('takes the columns of a single-input model in the order given, even when one is named like the input', async () => {
        for (const columns of [['x', 'b', 'c'], ['a', 'b', 'c']]) {
          const res = await invoke('mlflow-x', { dataframe_split: { columns, data: [[1, 2, 3]] } });
          expect({ columns, status: res.status, body: res.body }).toEqual({ columns, status: 200, body: { predictions: [{ variable: 321 }] } });
        }
        // One column named as the input, holding each row's tensor.
        expect((await invoke('mlflow-x', { dataframe_split: { columns: ['x'], data: [[[1, 2, 3]]] } })).body).toEqual({ predictions: [{ variable: 321 }] });
        expect((await invoke('mlflow-v', { dataframe_split: { columns: ['v'], data: [[1], [2]] } })).body).toEqual({ predictions: [{ y: 2 }, { y: 4 }] });
      });

      it('refuses at upload (422) an MLflow model whose signature columns could never feed its input, and stores nothing', async () => {
        const res = await t.request('POST', '/v1/models/mlflow-misfit/versions', { body: artifactForm(await mlflowColumnsZip(digits.bytes, ['alpha', 'beta']), { filename: 'model.zip' }) });
        expect([res.status, res.body.error.code]).toEqual([422, 'MLMODEL_INVALID']);
        expect(res.body.error.message).toContain("The MLmodel signature's columns (alpha, beta) cannot feed the ONNX model's inputs");
        expect((await t.request('GET', '/v1/models/mlflow-misfit')).status).toBe(404);
      });

      it('answers 400 when the columns do not fit the input, or a column name comes twice', async () => {
        const extra = await invoke('mlflow-v', { dataframe_split: { columns: ['b', 'v'], data: [[1, 2]] } });
        expect([extra.status, extra.body.error.code, extra.body.error.message]).toEqual([400, 'INVALID_INPUT', "Input 'v' (shape [N]) takes 1 column in order, the data frame has 2 (b, v)"]);
        const short = await invoke('mlflow-x', { dataframe_records: [{ x: 1, b: 2 }] });
        expect([short.status, short.body.error.message]).toEqual([400, "Input 'x' (shape [N, 3]) takes 3 columns in order, the data frame has 2 (x, b)"]);
        const twice = await invoke('mlflow-abc', { dataframe_split: { columns: ['alpha', 'alpha', 'beta', 'gamma'], data: [[1, 9, 2, 3]] } });
        expect([twice.status, twice.body.error]).toEqual([400, { code: 'INVALID_REQUEST', message: "Column 'alpha' appears more than once: each column name must be unique", details: { field: 'columns', column: 'alpha' } }]);
      });

      it('names an unknown or missing input in instance records as for an inputs dict', async () => {
        for (const body of [{ instances: [{ foo: 1 }] }, { instances: [{ x: [1, 2, 3], foo: 1 }] }, { inputs: { x: [[1, 2, 3]], foo: [1] } }]) {
          const res = await invoke('mlflow-x', body);
          expect([res.status, res.body.error.code, res.body.error.message]).toEqual([400, 'INVALID_INPUT', "Unknown input 'foo': the model's inputs are 'x'"]);
        }
        const missing = await invoke('typed', { instances: [{ a: [1, 2], b: [3, 4], c: [5, 6] }] });
        expect([missing.status, missing.body.error.message]).toEqual([400, "Missing input 'd' (bool, shape [N, 1])"]);
        expect((await invoke('mlflow-x', { instances: [{ x: [1, 2, 3] }] })).body).toEqual({ predictions: { variable: [[321]] } });
      });

      it('reads instances and inputs keyed by signature columns as a data frame, as the MLflow scoring server does', async () => {
        for (const body of [{ instances: [{ gamma: 3, alpha: 1, beta: 2 }] }, { inputs: { alpha: [1], beta: [2], gamma: [3] } }, { dataframe_records: [{ alpha: 1, beta: 2, gamma: 3 }] }]) {
          const res = await invoke('mlflow-abc', body);
          expect({ body, status: res.status, answer: res.body }).toEqual({ body, status: 200, answer: { predictions: [{ variable: 321 }] } });
        }
        // Keyed by the ONNX input, the same model still takes a tensor.
        expect((await invoke('mlflow-abc', { inputs: { x: [[1, 2, 3]] } })).body).toEqual({ predictions: { variable: [[321]] } });
      });

      it('reads instances and inputs keyed by signature columns that are the ONNX inputs too (one [N, 1] input per column) as dataframe_records', async () => {
        const store = buildStoreCodeModel({ '0042': 100, '0007': 7 });
        await upload('mlflow-store', await mlflowColumnsZip(store.bytes, ['store', 'x'], { store: 'string' }), { filename: 'model.zip' });
        const stores = ['0042', '0007', '9999'];
        const xs = [1.5, 2.5, 3.5];
        const want = { predictions: store.expected(stores, xs).map(([y]) => ({ y })) };
        const records = stores.map((s, i) => ({ store: s, x: xs[i] }));
        const bodies = [
          { dataframe_records: records },
          { dataframe_split: { columns: ['x', 'store'], data: stores.map((s, i) => [xs[i], s]) } },
          { instances: records },
          { inputs: records },
          { inputs: { x: xs, store: stores } },
          // Each row's value as a one-value tensor, in a column named as its input, still fits.
          { inputs: { store: stores.map((s) => [s]), x: xs.map((x) => [x]) } },
        ];
        for (const body of bodies) {
          const res = await invoke('mlflow-store', body);
          expect({ body, status: res.status, answer: res.body }).toEqual({ body, status: 200, answer: want });
        }
        // A dict of scalars is one row.
        expect((await invoke('mlflow-store', { inputs: { store: '0042', x: 1 } })).body).toEqual({ predictions: [{ y: 101 }] });
      });
    });

    describe('outputs that are not per row', () => {
      const { node, floatTensor, encode } = onnxGraph;
      const x2: FixtureTensorSpec = { name: 'x', dtype: 'float32', shape: ['N', 2] };
      // y = x, per row, beside a constant konst = [7, 8, 9] of fixed shape [3]: as many entries as 3 rows, but no row's.
      const konst = encode({
        name: 'konst',
        inputs: [x2],
        outputs: [
          { name: 'y', dtype: 'float32', shape: ['N', 2] },
          { name: 'konst', dtype: 'float32', shape: [3] },
        ],
        initializers: [floatTensor('k', [3], [7, 8, 9])],
        nodes: [node('Identity', ['x'], ['y']), node('Identity', ['k'], ['konst'])],
      });
      // nz = NonZero(x), [2, K]: the indices of x's non-zero values, one row per dimension of x (2 of them), beside w = x.
      const nonZero = encode({
        name: 'non_zero',
        inputs: [x2],
        outputs: [
          { name: 'nz', dtype: 'int64', shape: [2, 'K'] },
          { name: 'w', dtype: 'float32', shape: ['N', 2] },
        ],
        initializers: [],
        nodes: [node('NonZero', ['x'], ['nz']), node('Identity', ['x'], ['w'])],
      });
      // Exported for one row: x [1, 3] → y [1, 1] = x0 + 10·x1 + 100·x2.
      const oneRow = encode({
        name: 'one_row',
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
        initializers: [floatTensor('w', [3, 1], [1, 10, 100])],
        nodes: [node('MatMul', ['x', 'w'], ['y'])],
      });
      const invoke = (model: string, body: object) => t.request('POST', `/v1/models/${model}/invocations`, { body });
      const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => [2 * i + 1, 2 * i + 2]);
      beforeAll(async () => {
        await upload('mlflow-konst', konst);
        await upload('mlflow-nonzero', nonZero);
        await upload('mlflow-one-row', oneRow);
        await upload('mlflow-per-row', buildLinearModel({ weights: [1, 10, 100], bias: 0, inputName: 'x' }).bytes);
      });

      it('answers a data frame as the dict of outputs when an output has a fixed size of its own, whatever the row count', async () => {
        for (const n of [1, 2, 3, 4]) {
          const rows = rowsOf(n);
          const want = { y: rows, konst: [7, 8, 9] };
          const split = await invoke('mlflow-konst', { dataframe_split: { columns: ['a', 'b'], data: rows } });
          expect({ n, status: split.status, body: split.body }).toEqual({ n, status: 200, body: { predictions: want } });
          const records = await invoke('mlflow-konst', { dataframe_records: rows.map(([a, b]) => ({ a, b })) });
          expect({ n, body: records.body }).toEqual({ n, body: { predictions: want } });
          // As instances are answered, always.
          expect((await invoke('mlflow-konst', { instances: rows })).body).toEqual({ predictions: want });
        }
      });

      it("does not give the first rows NonZero's index rows when there are as many rows as x has dimensions", async () => {
        const res = await invoke('mlflow-nonzero', { dataframe_split: { data: [[1, 0], [0, 2]] } });
        expect([res.status, res.body]).toEqual([200, { predictions: { nz: [[0, 1], [0, 1]], w: [[1, 0], [0, 2]] } }]);
        const three = await invoke('mlflow-nonzero', { dataframe_split: { data: [[1, 0], [0, 2], [3, 3]] } });
        expect(three.body).toEqual({ predictions: { nz: [[0, 1, 2, 2], [0, 1, 0, 1]], w: [[1, 0], [0, 2], [3, 3]] } });
      });

      it('still answers records for per-row outputs: a free batch dimension, or a fixed one that is the input\'s own', async () => {
        const free = await invoke('mlflow-per-row', { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 2, 3], [4, 5, 6], [7, 8, 9]] } });
        expect([free.status, free.body]).toEqual([200, { predictions: [{ variable: 321 }, { variable: 654 }, { variable: 987 }] }]);
        const fixed = await invoke('mlflow-one-row', { dataframe_records: [{ a: 1, b: 2, c: 3 }] });
        expect([fixed.status, fixed.body]).toEqual([200, { predictions: [{ y: 321 }] }]);
        expect((await invoke('mlflow-one-row', { instances: [[1, 2, 3]] })).body).toEqual({ predictions: { y: [[321]] } });
      });
    });

    describe('data frames as CSV (text/csv), as pandas.DataFrame.to_csv() writes them', () => {
      const csvBody = (text: string, type = 'text/csv') => new Blob([text], { type });
      const invokeCsv = (model: string, text: string, type?: string) => t.request('POST', `/v1/models/${model}/invocations`, { body: csvBody(text, type) });
      const csvOf = (header: readonly string[], rows: ReadonlyArray<readonly unknown[]>, eol = '\n') => [header.join(','), ...rows.map((r) => r.join(','))].join(eol) + eol;
      const metricCount = async (route: string) => Number(new RegExp(`^mms_offloaded_bodies_total\\{route="${route}"\\} (\\d+)$`, 'm').exec((await t.request('GET', '/metrics')).body as string)?.[1] ?? 0);

      it('scores a CSV frame as dataframe_split: by the signature columns in any order (pandas index left out), or in order without a signature', async () => {
        const json = await t.request('POST', '/v1/models/mlflow-demand/invocations', { body: { dataframe_split: { columns, data: RETAIL_SAMPLE_ROWS } } });
        expect(json.status).toBe(200);
        // to_csv() with its index: a first column without a name, which the signature leaves out.
        const withIndex = csvOf(['', ...shuffled.map((i) => columns[i])], RETAIL_SAMPLE_ROWS.map((r, n) => [n, ...shuffled.map((i) => r[i])]), '\r\n');
        const res = await invokeCsv('mlflow-demand', `\ufeff${withIndex}`);
        expect([res.status, res.headers.get('x-model-version'), res.body]).toEqual([200, '1', json.body]);
        const plain = await invokeCsv('demand-linear', csvOf(columns, RETAIL_SAMPLE_ROWS), 'text/csv; charset=utf-8');
        expect(plain.status).toBe(200);
        expectClose(
          plain.body.predictions.map((p: { variable: number }) => [p.variable]),
          fixtures.linear.expected(RETAIL_SAMPLE_ROWS),
        );
        // Without a signature every column is a feature, so the index is one too many: the message says what it is.
        const indexed = await invokeCsv('demand-linear', csvOf(['', ...columns], RETAIL_SAMPLE_ROWS.map((r, n) => [n, ...r])));
        expect([indexed.status, indexed.body.error.code]).toEqual([400, 'INVALID_INPUT']);
        expect(indexed.body.error.message).toContain('to_csv(index=False)');
      });

      it('reads each cell as the input it feeds takes it: a store code stays text ("0042"), a number a number, an empty field a missing value', async () => {
        const model = buildStoreCodeModel({ '0042': 100, '0043': 200 });
        await upload('csv-store', model.bytes);
        const res = await invokeCsv('csv-store', 'x,store\n1.5,0042\n2.5,"0043"\n3.5,42\n');
        expect([res.status, res.body]).toEqual([200, { predictions: model.expected(['0042', '0043', '42'], [1.5, 2.5, 3.5]).map(([y]) => ({ y })) }]);
        // A missing float is NaN (as pandas reads it), answered null; a missing store code is refused, naming the input.
        const missingX = await invokeCsv('csv-store', 'x,store\n,0042\n');
        expect([missingX.status, missingX.body.predictions]).toEqual([200, [{ y: null }]]);
        const missingStore = await invokeCsv('csv-store', 'x,store\n1.5,\n');
        expect([missingStore.status, missingStore.body.error.code, missingStore.body.error.message]).toEqual([400, 'INVALID_INPUT', expect.stringContaining("Input 'store'")]);
        const notANumber = await invokeCsv('csv-store', 'x,store\nlots,0042\n');
        expect([notANumber.status, notANumber.body.error.message]).toEqual([400, expect.stringContaining("Input 'x'")]);
      });

      it('answers 400 for a CSV it cannot read as a frame, 415 for another charset, and takes text/csv nowhere else', async () => {
        for (const [text, message] of [
          ['', 'The CSV body is empty'],
          [`${columns.join(',')}\n`, 'The data frame has no rows'],
          [`${columns.join(',')}\n${ROW.join(',')},7\n`, "CSV row 1 has 7 fields for the header's 6 columns"],
          [`${columns.join(',')}\n"${ROW.join(',')}\n`, 'The CSV body cannot be read at record 2: unterminated quoted field'],
        ]) {
          const res = await invokeCsv('mlflow-demand', text);
          expect({ text, status: res.status, code: res.body.error?.code, message: res.body.error?.message }).toEqual({ text, status: 400, code: 'INVALID_REQUEST', message: expect.stringContaining(message) });
        }
        const latin1 = await invokeCsv('mlflow-demand', csvOf(columns, [ROW]), 'text/csv; charset=latin1');
        expect([latin1.status, latin1.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
        const predict = await t.request('POST', '/v1/predict', { body: csvBody(csvOf(columns, [ROW])) });
        expect([predict.status, predict.body.error.message]).toEqual([415, expect.stringContaining('text/csv is for MLflow invocations only')]);
      });

      it('reads a big CSV body off the HTTP thread, with the same answer', async () => {
        const rows = Array.from({ length: 12_000 }, (_, i) => RETAIL_SAMPLE_ROWS[i % RETAIL_SAMPLE_ROWS.length]);
        const text = csvOf(shuffled.map((i) => columns[i]), rows.map((r) => shuffled.map((i) => r[i])));
        expect(Buffer.byteLength(text)).toBeGreaterThan(128 * 1024);
        const before = await metricCount('mlflow');
        const res = await invokeCsv('mlflow-demand', text);
        expect(res.status).toBe(200);
        expect(await metricCount('mlflow')).toBe(before + 1);
        expectClose(
          res.body.predictions.map((p: { variable: number }) => [p.variable]),
          fixtures.tree.expected(rows),
        );
        const broken = await invokeCsv('mlflow-demand', `${text}${ROW.join(',')},1\n`);
        expect([broken.status, broken.body.error.message]).toEqual([400, "CSV row 12001 has 7 fields for the header's 6 columns"]);
      });
    });

    describe('version, alias and the health probes', () => {
      const score = (query: string) => t.request('POST', `/v1/models/mlflow-lifecycle/invocations${query}`, { body: { instances: [ROW] } });
      const biasOfScore = (res: TestResponse) => Math.round(res.body.predictions.variable[0][0] - ROW_SUM);
      beforeAll(async () => {
        for (const bias of [10, 20, 30]) await upload('mlflow-lifecycle', linear(bias).bytes);
        await t.request('PUT', '/v1/models/mlflow-lifecycle/aliases/production', { body: { version: 1 } });
        await t.request('PUT', '/v1/models/mlflow-lifecycle/aliases/staging', { body: { version: 2 } });
      });

      it('serves the version or alias named in the query string, else the default', async () => {
        for (const [query, bias] of [['', 10], ['?version=3', 30], ['?alias=staging', 20]] as const) {
          const res = await score(query);
          expect({ query, status: res.status, version: res.headers.get('x-model-version'), bias: biasOfScore(res) }).toEqual({ query, status: 200, version: String(bias / 10), bias });
        }
      });

      it('ignores other query parameters (as it always did), answers 400 for a bad version, 404 for a version that does not exist', async () => {
        const other = await score('?_=1732690000');
        expect({ status: other.status, version: other.headers.get('x-model-version') }).toEqual({ status: 200, version: '1' });
        expect((await score('?version=two')).body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'version' } });
        expect((await score('?version=1&alias=staging')).status).toBe(400);
        expect((await score('?version=9')).body.error.code).toBe('VERSION_NOT_FOUND');
        expect((await score('?alias=nowhere')).body.error.code).toBe('ALIAS_NOT_FOUND');
      });

      it('answers GET /ping and /health under the model as the MLflow scoring server does', async () => {
        for (const probe of ['ping', 'health']) {
          const ok = await t.request('GET', `/v1/models/mlflow-lifecycle/${probe}`);
          expect([ok.status, ok.body]).toEqual([200, { status: 'ok', model: 'mlflow-lifecycle' }]);
          expect((await t.request('GET', `/v1/models/mlflow-lifecycle/${probe}?alias=staging`)).status).toBe(200);
          expect((await t.request('GET', `/v1/models/mlflow-lifecycle/${probe}?version=9`)).body.error.code).toBe('VERSION_NOT_FOUND');
          expect((await t.request('GET', `/v1/models/mlflow-lifecycle/${probe}?foo=1`)).status).toBe(200); // other parameters are ignored
          expect((await t.request('GET', `/v1/models/no-such-model/${probe}`)).body.error.code).toBe('MODEL_NOT_FOUND');
          expect((await t.request('GET', `/v1/models/mlflow-lifecycle/${probe}`, { headers: { authorization: '' } })).status).toBe(401);
        }
      });
    });
  });

  describe('load, pin, unload and the cache view', () => {
    it('prewarms and pins a version, and lists it with its size and counters', async () => {
      const res = await t.request('POST', '/v1/models/lifecycle/load', { body: { pin: true, version: 1 } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ model: 'lifecycle', version: 1, state: 'ready', pinned: true, sizeBytes: expect.any(Number), worker: expect.any(Number) });
      const cache = await t.request('GET', '/v1/cache');
      expect(cache.status).toBe(200);
      expect(cache.body).toMatchObject({ scope: 'all', limits: { maxModels: 2000 }, loaded: expect.any(Number), hits: expect.any(Number), misses: expect.any(Number), evictions: 0 });
      const entry = cache.body.models.find((m: { model: string; version: number }) => m.model === 'lifecycle' && m.version === 1);
      expect(entry).toMatchObject({ pinned: true, state: 'ready', stats: { loads: 1 } });
      expect(cache.body.workers).toHaveLength(2);
    });

    it('unloads one version or all of a model', async () => {
      expect((await t.request('POST', '/v1/models/lifecycle/unload', { body: { version: 1 } })).body).toEqual({ model: 'lifecycle', unloaded: [1] });
      await predictRow({ model: 'lifecycle', version: 2 });
      const all = await t.request('POST', '/v1/models/lifecycle/unload');
      expect(all.status).toBe(200);
      expect(all.body.unloaded).toContain(2);
      const cache = await t.request('GET', '/v1/cache');
      expect(cache.body.models.filter((m: { model: string }) => m.model === 'lifecycle')).toEqual([]);
      expect((await t.request('POST', '/v1/models/nope/load')).status).toBe(404);
      expect((await t.request('POST', '/v1/models/lifecycle/load', { body: { pin: 'yes' } })).status).toBe(400);
    });
  });

  it('loads a cold model once for concurrent requests', async () => {
    await upload('stampede', linear(7).bytes);
    const results = await Promise.all(Array.from({ length: 40 }, () => predictRow({ model: 'stampede' })));
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    const entry = (await t.request('GET', '/v1/cache')).body.models.find((m: { model: string }) => m.model === 'stampede');
    expect(entry.stats).toMatchObject({ loads: 1, misses: expect.any(Number) });
    expect(entry.stats.hits + entry.stats.misses).toBe(40);
  });

  it('runs a 200,000-row request correctly while small requests and health checks keep answering', async () => {
    const rows = 200_000;
    const data = new Array<number>(rows * 6);
    for (let r = 0; r < rows; r++) for (let c = 0; c < 6; c++) data[r * 6 + c] = RETAIL_SAMPLE_ROWS[r % 5][c];
    const big = predict({ model: 'demand-mlp', inputs: { float_input: { shape: [rows, 6], data } } });
    const small = Promise.all(Array.from({ length: 20 }, () => predictRow({ model: 'demand-tree' })));
    const health = Promise.all(Array.from({ length: 5 }, () => t.request('GET', '/health/live')));
    const [bigRes, smallRes, healthRes] = await Promise.all([big, small, health]);
    expect(smallRes.every((r) => r.status === 200)).toBe(true);
    expect(healthRes.every((r) => r.status === 200)).toBe(true);
    expect(bigRes.status).toBe(200);
    const out = bigRes.body.outputs.variable as number[][];
    expect(out).toHaveLength(rows);
    const want = fixtures.mlp.expected(RETAIL_SAMPLE_ROWS);
    for (const r of [0, 1, 4, 99_999, 131_071, 131_072, rows - 1]) expectClose([out[r]], [want[r % 5]]);
    // An answer this big is not kept in the prediction log, and its id says so.
    const feedback = await t.request('POST', '/v1/feedback', { body: { predictionId: bigRes.body.predictionId, actual: 1 } });
    expect([feedback.status, feedback.body.error?.details?.reason]).toEqual([404, 'not_sampled']);
  });

  describe('big bodies (parsed and answered off the HTTP thread)', () => {
    // 10,000 rows of 6 features: well above the 128 KiB from which a body goes to the JSON codec thread.
    const rows = Array.from({ length: 10_000 }, (_, r) => RETAIL_SAMPLE_ROWS[r % 5]);
    const postRaw = async (text: string) => {
      const res = await fetch(`${t.baseUrl}/v1/predict`, { method: 'POST', headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' }, body: text });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    };

    it('answers exactly as for a small body, by name or by segment', async () => {
      const big = await predict({ model: 'demand-linear', inputs: { float_input: rows } });
      expect(big.status).toBe(200);
      expect(big.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(big.headers.get('x-model-version')).toBe(String(big.body.version));
      expect(Object.keys(big.body)).toEqual(['model', 'version', 'outputs', 'predictionId']);
      const small = await predict({ model: 'demand-linear', inputs: { float_input: RETAIL_SAMPLE_ROWS } });
      expect(big.body.outputs.variable.slice(0, 5)).toEqual(small.body.outputs.variable);
      expect(big.body.outputs.variable).toHaveLength(rows.length);
      const bySegment = await predict({ segment: { region: 'big-north' }, inputs: { float_input: { shape: [rows.length, 6], data: rows.flat() } } });
      expect(bySegment.status).toBe(200);
      expect(bySegment.body.model).toBe('big-region');
    });

    it('answers the same errors as for a small body', async () => {
      const bad = rows.map((r, i) => (i === 7_000 ? [1, 2, 'x', 4, 5, 6] : r));
      const res = await predict({ model: 'demand-linear', inputs: { float_input: bad } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'float_input', at: '[7000][2]' } });
      const unknownField = await predict({ model: 'demand-linear', inputs: { float_input: rows }, extra: 1 });
      expect(unknownField.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'extra' } });
      expect((await predict({ model: 'no-such-model', inputs: { float_input: rows } })).body.error.code).toBe('MODEL_NOT_FOUND');
      const text = JSON.stringify({ model: 'demand-linear', inputs: { float_input: rows } });
      const invalid = await postRaw(text.slice(0, -3));
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('INVALID_REQUEST');
    });

    it('still refuses prototype-poisoning keys, as the HTTP layer does', async () => {
      const text = JSON.stringify({ model: 'demand-linear', inputs: { float_input: rows } }).replace('{"model"', '{"__proto__":{"x":1},"model"');
      const res = await postRaw(text);
      expect(res.status).toBe(400);
    });

    beforeAll(async () => {
      await upload('big-region', linear(50).bytes, { segment: { region: 'big-north' } });
    });
  });

  describe('big bodies on every prediction route', () => {
    // Trailing whitespace keeps the JSON as it is and takes the body over the documented 128 KiB
    // from which it is parsed in the JSON codec thread: padded and compact must answer the same.
    const PADDING = ' '.repeat(130 * 1024);
    const rows = Array.from({ length: 20_000 }, (_, r) => RETAIL_SAMPLE_ROWS[r % 5]);
    const columns = [...RETAIL_FEATURES];
    const shuffled = [5, 0, 3, 1, 4, 2];
    const oipInput = { name: 'float_input', shape: [1, 6], datatype: 'FP32', data: ROW };
    const send = async (path: string, text: string) => {
      const res = await fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' }, body: text });
      return { status: res.status, type: res.headers.get('content-type'), version: res.headers.get('x-model-version'), text: await res.text() };
    };
    /** The answer without its prediction ids, which differ on every call. */
    const withoutIds = (answer: Awaited<ReturnType<typeof send>>) => ({ ...answer, text: answer.text.replace(/"predictionId":"[^"]*"/g, '"predictionId":"…"') });
    const offloaded = async () => {
      const text = (await t.request('GET', '/metrics')).body as string;
      const count = (route: string) => Number(new RegExp(`^mms_offloaded_bodies_total\\{route="${route}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      return { predict: count('predict'), fanout: count('fanout'), oip: count('oip'), mlflow: count('mlflow') };
    };

    const cases: Array<[route: 'predict' | 'fanout' | 'oip' | 'mlflow', path: string, body: unknown]> = [
      ['predict', '/v1/predict', { model: 'demand-linear', inputs: { float_input: RETAIL_SAMPLE_ROWS } }],
      ['predict', '/v1/predict', { segment: { region: 'big-north' }, key: 'k1', inputs: { float_input: { shape: [1, 6], data: ROW } } }],
      ['predict', '/v1/predict', { model: 'demand-linear', inputs: { float_input: [[1, 2, 'x', 4, 5, 6]] } }],
      ['predict', '/v1/predict', { model: 'no-such-model', inputs: { float_input: [ROW] } }],
      ['fanout', '/v1/predict/fanout', {
        requests: [
          { model: 'demand-tree', inputs: { float_input: [RETAIL_SAMPLE_ROWS[0]] } },
          { model: 'demand-linear', inputs: { float_input: [[1, 2]] } },
          { model: 'no-such-model', inputs: { float_input: [ROW] } },
          { segment: { region: 'big-north' }, inputs: { float_input: [ROW] } },
          { model: 'demand-mlp', extra: 1, inputs: { float_input: [ROW] } },
          null,
          { model: 'typed', version: 1, inputs: { a: [[1, 2]], b: [['9007199254740993', 2]], c: [[1, 2]], d: [[true]] } },
        ],
      }],
      ['fanout', '/v1/predict/fanout', { requests: [] }],
      ['fanout', '/v1/predict/fanout', { requests: [{ model: 'demand-linear', inputs: { float_input: [ROW] } }], more: 1 }],
      ['oip', '/v2/models/demand-mlp/infer', { id: 'req-1', inputs: [{ name: 'float_input', shape: [5, 6], datatype: 'FP32', data: RETAIL_SAMPLE_ROWS.flat() }] }],
      ['oip', '/v2/models/typed/versions/1/infer', TYPED_OIP_REQUEST],
      ['oip', '/v2/models/demand-linear/infer', { inputs: [{ ...oipInput, datatype: 'INT64' }] }],
      ['oip', '/v2/models/demand-linear/infer', { inputs: [{ ...oipInput, shape: [2, 6] }] }],
      ['oip', '/v2/models/demand-linear/infer', { inputs: [oipInput], outputs: [{ name: 'nope' }] }],
      ['oip', '/v2/models/demand-linear/infer', { id: 42, inputs: [oipInput] }],
      ['oip', '/v2/models/demand-linear/versions/9/infer', { inputs: [oipInput] }],
      ['oip', '/v2/models/no-such-model/infer', { inputs: [oipInput] }],
      ['mlflow', '/v1/models/big-mlflow/invocations', { dataframe_split: { columns: shuffled.map((i) => columns[i]), data: RETAIL_SAMPLE_ROWS.map((r) => shuffled.map((i) => r[i])) } }],
      ['mlflow', '/v1/models/big-mlflow/invocations?version=1', { dataframe_records: RETAIL_SAMPLE_ROWS.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) }],
      ['mlflow', '/v1/models/demand-linear/invocations', { instances: RETAIL_SAMPLE_ROWS }],
      ['mlflow', '/v1/models/typed/invocations', { inputs: { a: [[1, 2]], b: [[3, 4]], c: [[5, 6]], d: [[true]] } }],
      ['mlflow', '/v1/models/big-mlflow/invocations', { dataframe_split: { columns: columns.slice(1), data: [ROW.slice(1)] } }],
      ['mlflow', '/v1/models/big-mlflow/invocations', { records: [] }],
      ['mlflow', '/v1/models/no-such-model/invocations', { instances: [ROW] }],
    ];

    /** Bodies that are not plain JSON objects of the route: refused bodies, and values nested 2,000 and 20,000 deep where an error repeats what was sent. */
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const rawCases: Array<[route: 'predict' | 'fanout' | 'oip' | 'mlflow', path: string, text: string]> = [
      // Broken before the padding starts, and said without quoting the text around, so that the message is the same.
      ['predict', '/v1/predict', '{"model": "demand-linear", "inputs": [1 2]}'],
      ['fanout', '/v1/predict/fanout', '{"requests": [{"model": "demand-linear"} {}]}'],
      ['oip', '/v2/models/demand-linear/infer', '{"inputs": [1, 2 3]}'],
      ['mlflow', '/v1/models/demand-linear/invocations', '{"instances": [1] "x": 2}'],
      ['predict', '/v1/predict', '{"__proto__": {"x": 1}, "model": "demand-linear", "inputs": {}}'],
      ['fanout', '/v1/predict/fanout', '{"requests": [{"constructor": {"prototype": {"x": 1}}}]}'],
      ['oip', '/v2/models/demand-linear/infer', '{"\\u005f_proto__": {"x": 1}, "inputs": []}'],
      ['mlflow', '/v1/models/demand-linear/invocations', '{"instances": [1], "__proto__": []}'],
      // Valid JSON that only looks suspicious is served as usual.
      ['oip', '/v2/models/demand-linear/infer', `{"id": "constructor \\u00e9", "inputs": [{"name": "float_input", "shape": [1, 6], "datatype": "FP32", "data": ${JSON.stringify(ROW)}}]}`],
      ...[2_000, 20_000].flatMap((depth): typeof rawCases => [
        ['predict', '/v1/predict', `{"model": "demand-linear", "inputs": {"float_input": {"shape": ${nested(depth)}, "data": []}}}`],
        ['fanout', '/v1/predict/fanout', `{"requests": [{"model": "demand-linear", "inputs": {"float_input": {"shape": [${nested(depth)}], "data": []}}}]}`],
        ['oip', '/v2/models/demand-linear/infer', `{"inputs": [{"name": "float_input", "datatype": ${nested(depth)}, "shape": [1, 6], "data": ${JSON.stringify(ROW)}}]}`],
        ['mlflow', '/v1/models/typed/invocations', `{"inputs": {"a": ${nested(depth)}, "b": [[3, 4]], "c": [[5, 6]], "d": [[true]]}}`],
      ]),
    ];

    it('answers a padded body exactly as the compact one, answers and errors alike', async () => {
      const before = await offloaded();
      const sent = { predict: 0, fanout: 0, oip: 0, mlflow: 0 };
      const statuses = new Set<number>();
      for (const [route, path, text] of [...cases.map(([route, path, body]) => [route, path, JSON.stringify(body)] as const), ...rawCases]) {
        const compact = withoutIds(await send(path, text));
        const padded = withoutIds(await send(path, text + PADDING));
        sent[route]++;
        statuses.add(compact.status);
        expect({ path, sent: text.slice(0, 200), ...padded }).toEqual({ path, sent: text.slice(0, 200), ...compact });
        expect(compact.type).toBe('application/json; charset=utf-8');
      }
      // The cases cover answers, 400s and 404s (no 5xx); every padded body went to the codec thread.
      expect([...statuses].sort()).toEqual([200, 400, 404]);
      const after = await offloaded();
      for (const route of ['predict', 'fanout', 'oip', 'mlflow'] as const) expect(after[route] - before[route]).toBe(sent[route]);
    });

    it('says why a big body is refused, as for a small one', async () => {
      const invalid = JSON.parse((await send('/v2/models/demand-linear/infer', '{"inputs": [' + PADDING)).text);
      expect(invalid.error).toEqual({ code: 'INVALID_REQUEST', message: 'Body is not valid JSON: Unexpected end of JSON input', details: {} });
      const poisoned = JSON.parse((await send('/v1/predict/fanout', '{"__proto__": {"x": 1}, "requests": []}' + PADDING)).text);
      expect(poisoned.error.message).toBe("The body has a '__proto__' or 'constructor.prototype' key, which is refused (it could alter objects' prototypes)");
    });

    it("logs a big request's prediction under its routing key, as a small one's", async () => {
      const key = `big-key-${Date.now()}`;
      const body = JSON.stringify({ model: 'demand-linear', key, inputs: { float_input: [ROW] } }) + PADDING;
      expect((await send('/v1/predict', body)).status).toBe(200);
      const fanoutKey = `${key}-fanout`;
      const fanout = JSON.stringify({ requests: [{ model: 'demand-tree', key: fanoutKey, inputs: { float_input: [ROW] } }] }) + PADDING;
      expect((await send('/v1/predict/fanout', fanout)).status).toBe(200);
      // The log is written within a second; feedback by model and key finds the prediction then.
      const found = async (model: string, k: string) => {
        for (let attempt = 0; attempt < 50; attempt++) {
          const res = await t.request('POST', '/v1/feedback', { body: { model, key: k, actual: [[1]] } });
          if (res.status !== 404) return res.status;
          await new Promise((r) => setTimeout(r, 100));
        }
        return 404;
      };
      expect(await found('demand-linear', key)).toBe(200);
      expect(await found('demand-tree', fanoutKey)).toBe(200);
    });

    it('answers big OIP, MLflow and fanout requests in full (big answers encoded off the HTTP thread)', async () => {
      const want = fixtures.linear.expected(rows);
      const oip = await send('/v2/models/demand-linear/infer', JSON.stringify({ id: 'big', inputs: [{ name: 'float_input', shape: [rows.length, 6], datatype: 'FP32', data: rows.flat() }] }));
      expect([oip.status, oip.type, oip.version]).toEqual([200, 'application/json; charset=utf-8', '1']);
      const oipBody = JSON.parse(oip.text);
      expect(Object.keys(oipBody)).toEqual(['model_name', 'model_version', 'id', 'outputs']);
      expect(oipBody.outputs[0]).toMatchObject({ name: 'variable', datatype: 'FP32', shape: [rows.length, 1] });
      expectClose(oipBody.outputs[0].data.map((v: number) => [v]), want);

      const mlflow = await send('/v1/models/big-mlflow/invocations', JSON.stringify({ dataframe_split: { columns, data: rows } }));
      expect([mlflow.status, mlflow.type, mlflow.version]).toEqual([200, 'application/json; charset=utf-8', '1']);
      expectClose(JSON.parse(mlflow.text).predictions.map((p: { variable: number }) => [p.variable]), want);

      const items = [rows.slice(0, 10_000), rows.slice(10_000)];
      const fanout = await send('/v1/predict/fanout', JSON.stringify({ requests: [...items.map((part) => ({ model: 'demand-linear', inputs: { float_input: part } })), { model: 'nope', inputs: {} }] }));
      expect([fanout.status, fanout.type]).toEqual([200, 'application/json; charset=utf-8']);
      const results = JSON.parse(fanout.text).results;
      expect(results[2].error.code).toBe('MODEL_NOT_FOUND');
      expectClose([...results[0].outputs.variable, ...results[1].outputs.variable], want);
      // Too big for the prediction log, as a big /v1/predict answer: its ids say so.
      const feedback = await t.request('POST', '/v1/feedback', { body: { predictionId: results[0].predictionId, actual: 1 } });
      expect([feedback.status, feedback.body.error?.details?.reason]).toEqual([404, 'not_sampled']);
    });

    beforeAll(async () => {
      await upload('big-mlflow', await mlflowColumnsZip(fixtures.linear.bytes, columns), { filename: 'model.zip' });
    });
  });

  describe('big answers to small bodies', () => {
    // 1,000 outputs per row: 20 rows (a body of ~1 KB) answer 20,000 values, above the
    // documented 16,384 from which an answer is encoded in the JSON codec thread; 2 rows, below.
    const wide = buildWideOutputModel({ width: 1_000 });
    const rows = Array.from({ length: 20 }, (_, r) => RETAIL_SAMPLE_ROWS[r % 5]);
    const send = async (path: string, body: object) => {
      const res = await fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, type: res.headers.get('content-type'), version: res.headers.get('x-model-version'), body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const offloaded = async () => {
      const text = (await t.request('GET', '/metrics')).body as string;
      const count = (metric: string, route: string) => Number(new RegExp(`^${metric}\\{route="${route}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      const routes = ['predict', 'fanout', 'oip', 'mlflow'];
      return { answers: routes.map((r) => count('mms_offloaded_answers_total', r)), bodies: routes.map((r) => count('mms_offloaded_bodies_total', r)) };
    };
    /** Each route's request for `rows`, and its answer's rows of outputs. */
    const routes: Array<[label: string, path: string, body: (rows: number[][]) => object, outputs: (answer: any) => number[][]]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['predict', '/v1/predict', (r) => ({ model: 'wide', inputs: { float_input: r } }), (a) => a.outputs.variable],
      // A query string takes /v1/predict past the fast lane, to the Fastify route.
      ['predict', '/v1/predict?via=route', (r) => ({ model: 'wide', inputs: { float_input: r } }), (a) => a.outputs.variable],
      ['fanout', '/v1/predict/fanout', (r) => ({ requests: [{ model: 'wide', inputs: { float_input: r.slice(0, r.length / 2) } }, { model: 'wide', inputs: { float_input: r.slice(r.length / 2) } }] }), (a) => a.results.flatMap((x: { outputs: { variable: number[][] } }) => x.outputs.variable)],
      ['oip', '/v2/models/wide/infer', (r) => ({ inputs: [{ name: 'float_input', shape: [r.length, 6], datatype: 'FP32', data: r.flat() }] }), (a) => Array.from({ length: a.outputs[0].shape[0] }, (_, i) => a.outputs[0].data.slice(i * 1_000, (i + 1) * 1_000))],
      ['mlflow', '/v1/models/wide/invocations', (r) => ({ inputs: r }), (a) => a.predictions.variable],
    ];

    it.each(routes)('%s (%s) encodes a big answer off the HTTP thread, with the values a small one has', async (route, path, body, outputs) => {
      const before = await offloaded();
      const small = await send(path, body(rows.slice(0, 2)));
      expect(small.status).toBe(200);
      expect((await offloaded()).answers).toEqual(before.answers);
      const big = await send(path, body(rows));
      expect([big.status, big.type]).toEqual([200, 'application/json; charset=utf-8']);
      if (route !== 'fanout') expect(big.version).toBe('1');
      const after = await offloaded();
      const i = ['predict', 'fanout', 'oip', 'mlflow'].indexOf(route);
      expect(after.answers[i] - before.answers[i]).toBe(1);
      expect(after.bodies).toEqual(before.bodies); // the bodies were small: parsed on the HTTP thread
      expect(Object.keys(big.body)).toEqual(Object.keys(small.body));
      expect(outputs(big.body).slice(0, 2)).toEqual(outputs(small.body));
      expectClose(outputs(big.body), wide.expected(rows));
      if (route === 'predict') {
        // 2,000 values: encoded here, but too big for the prediction log (over 1,024), and its id says so.
        const feedback = await t.request('POST', '/v1/feedback', { body: { predictionId: small.body.predictionId, actual: 1 } });
        expect([feedback.status, feedback.body.error?.details?.reason]).toEqual([404, 'not_sampled']);
      }
      if (route === 'predict' || route === 'fanout') {
        // Too big for the prediction log, as a big body's big answer: its id says so.
        const id = route === 'predict' ? big.body.predictionId : big.body.results[1].predictionId;
        const feedback = await t.request('POST', '/v1/feedback', { body: { predictionId: id, actual: 1 } });
        expect([feedback.status, feedback.body.error?.details?.reason]).toEqual([404, 'not_sampled']);
      }
    });

    it("logs each item of a big fanout answer that fits the prediction log, as for a small one", async () => {
      // 17 items of 1,000 values: 17,000 in all (encoded off the HTTP thread), each within the log's 1,024.
      const big = await send('/v1/predict/fanout', { requests: rows.slice(0, 17).map((row) => ({ model: 'wide', key: 'wide-key', inputs: { float_input: [row] } })) });
      expect(big.status).toBe(200);
      expectClose(big.body.results.map((r: { outputs: { variable: number[][] } }) => r.outputs.variable[0]), wide.expected(rows.slice(0, 17)));
      let found = 404;
      for (let attempt = 0; attempt < 50 && found === 404; attempt++) {
        await new Promise((r) => setTimeout(r, 100));
        found = (await t.request('POST', '/v1/feedback', { body: { predictionId: big.body.results[16].predictionId, actual: Array(1_000).fill(1) } })).status;
      }
      expect(found).toBe(200);
    });

    it('counts a big /v1/predict answer under the model and version that answered, also for a request by segment', async () => {
      const served = async () => {
        const lines = ((await t.request('GET', '/metrics')).body as string).split('\n');
        const ours = lines.filter((l) => l.startsWith('mms_http_requests_total{') && ['route="/v1/predict"', 'status="200"', 'model="wide"', 'version="1"'].every((label) => l.includes(label)));
        return ours.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      };
      for (const path of ['/v1/predict', '/v1/predict?via=route']) {
        const before = await served();
        const big = await send(path, { segment: { line: 'wide' }, inputs: { float_input: rows } });
        expect([path, big.status, big.body.model]).toEqual([path, 200, 'wide']);
        expect([path, (await served()) - before]).toEqual([path, 1]);
      }
    });

    beforeAll(async () => {
      await upload('wide', wide.bytes, { segment: { line: 'wide' } });
    });
  });

  it('refuses text the database cannot store (NUL, unpaired surrogates) with a 400, and keeps logging the other predictions', async () => {
    const raw = (path: string, text: string, method = 'POST') =>
      fetch(`${t.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' }, body: text }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string }; results: Array<{ error: { code: string } }> } }));
    const row = JSON.stringify([ROW]);
    for (const [path, text] of [
      ['/v1/predict', `{"model": "demand-linear", "key": "a\\u0000b", "inputs": {"float_input": ${row}}}`],
      ['/v1/predict', `{"model": "demand-linear", "key": "\\ud800", "inputs": {"float_input": ${row}}}`],
      ['/v1/predict', `{"segment": {"region": "north\\u0000"}, "inputs": {"float_input": ${row}}}`],
      ['/v1/predict/fanout', `{"requests": [{"segment": {"\\udc00": "x"}, "inputs": {"float_input": ${row}}}]}`],
      ['/v1/feedback', '{"model": "demand-linear", "key": "a\\u0000b", "actual": [[1]]}'],
      ['/v1/models/demand-linear', '{"description": "a\\u0000b"}'],
    ]) {
      const res = await raw(path, text, path === '/v1/models/demand-linear' ? 'PATCH' : 'POST');
      const error = path === '/v1/predict/fanout' ? res.body.results[0].error : res.body.error;
      expect([path, text, res.status < 500, error.code]).toEqual([path, text, true, 'INVALID_REQUEST']);
    }
    expect((await t.request('GET', '/v1/models?q=a%00b')).status).toBe(400);
    // A prediction sent with the refused ones is logged as usual: feedback finds it.
    const ok = await predict({ model: 'demand-linear', key: 'after-nul', inputs: { float_input: [ROW] } });
    let found = 404;
    for (let attempt = 0; attempt < 50 && found === 404; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      found = (await t.request('POST', '/v1/feedback', { body: { predictionId: ok.body.predictionId, actual: [[1]] } })).status;
    }
    expect(found).toBe(200);
  });

  describe('tenants', () => {
    let tenantKey: string;
    let scorerKey: string;

    beforeAll(async () => {
      const tenant = await t.request('POST', '/v1/tenants', { body: { name: 'serving-tenant' } });
      tenantKey = (await t.request('POST', `/v1/tenants/${tenant.body.id}/keys`, { body: { role: 'publisher' } })).body.key;
      scorerKey = (await t.request('POST', `/v1/tenants/${tenant.body.id}/keys`, { body: { role: 'scorer', models: ['demand-*'] } })).body.key;
      const as = { authorization: `Bearer ${tenantKey}` };
      // Same name as the default tenant's model, different weights.
      expect((await t.request('POST', '/v1/models/demand-linear/versions', { body: artifactForm(linear(900).bytes), headers: as })).status).toBe(201);
      expect((await t.request('POST', '/v1/models/hidden-model/versions', { body: artifactForm(linear(901).bytes), headers: as })).status).toBe(201);
    });

    it("serves each tenant its own model of a shared name, and never another tenant's", async () => {
      const mine = await predict({ model: 'demand-linear', inputs: { float_input: [ROW] } }, { authorization: `Bearer ${tenantKey}` });
      expect(biasOf(mine)).toBe(900);
      expect((await predict({ model: 'lifecycle', inputs: { float_input: [ROW] } }, { authorization: `Bearer ${tenantKey}` })).status).toBe(404);
      const rootView = await predictRow({ model: 'demand-linear' });
      expect(biasOf(rootView)).not.toBe(900);
    });

    it("limits a scorer to its key's models and keeps the cache view to publishers", async () => {
      const as = { authorization: `Bearer ${scorerKey}` };
      expect((await predict({ model: 'demand-linear', inputs: { float_input: [ROW] } }, as)).status).toBe(200);
      expect((await predict({ model: 'hidden-model', inputs: { float_input: [ROW] } }, as)).body.error.code).toBe('MODEL_NOT_FOUND');
      expect((await t.request('GET', '/v1/cache', { headers: as })).status).toBe(403);
      expect((await t.request('POST', '/v1/models/demand-linear/load', { headers: as })).status).toBe(403);
    });

    it("shows a tenant's publisher only its own sessions", async () => {
      const cache = await t.request('GET', '/v1/cache', { headers: { authorization: `Bearer ${tenantKey}` } });
      expect(cache.status).toBe(200);
      expect(cache.body.scope).toBe('tenant');
      expect(cache.body.models.map((m: { model: string }) => m.model)).toEqual(['demand-linear']);
      expect(cache.body.models[0].tenantId).toBeUndefined();
      expect(cache.body.workers).toBeUndefined();
    });
  });

  it('documents the serving routes', async () => {
    const docs = await t.request('GET', '/docs/json', { headers: { authorization: '' } });
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/v1/predict', '/v1/predict/fanout', '/v1/cache', '/v1/models/{name}/load', '/v1/models/{name}/invocations', '/v1/models/{name}/ping', '/v1/models/{name}/health', '/v2/models/{name}/infer']),
    );
  });
});

describe('a shutdown that cannot finish (MMS_SHUTDOWN_TIMEOUT_MS)', () => {
  it('exits after the timeout, saying so, when what is in flight holds the close back', async () => {
    const t = await startTestApp({ MMS_SHUTDOWN_TIMEOUT_MS: '1500' });
    try {
      // A body never finished (within the 5-minute request timeout) keeps the server from closing.
      const port = Number(new URL(t.baseUrl).port);
      void rawHttp(port, `POST /v1/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ROOT_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`).catch(() => '');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await t.stop('SIGTERM')).toBe(1); // null had the test's 10 s grace run out and killed it
      expect(t.output()).toContain('shutdown did not finish within 1500 ms (MMS_SHUTDOWN_TIMEOUT_MS)');
    } finally {
      await t.dispose();
    }
  });
});

describe('a request not received in time (MMS_REQUEST_TIMEOUT_MS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MMS_REQUEST_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('answers 408 in the API body and closes the connection when a body is never finished, and serves others meanwhile', async () => {
    const port = Number(new URL(t.baseUrl).port);
    const halfSent = rawHttp(port, `POST /v1/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ROOT_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`);
    expect((await t.request('GET', '/health/ready')).status).toBe(200);
    const answer = await halfSent; // resolves when the server closes the connection
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
  });
});

/** Sends `request` as raw bytes on a fresh connection and reads everything the server writes until it closes. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}
