import { InferenceSession, Tensor } from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * Models as data scientists export them (skl2onnx classifiers with and without ZipMap, one
 * input per column, old IR 3 files that list their initializers as inputs, odd tensor names),
 * served through /v1/predict, fanout, the Open Inference Protocol and MLflow's invocations, and
 * compared with what onnxruntime itself computes.
 */

const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;
type Dim = number | string | null;

function tensorInfo(name: string, elemType: number, shape: Dim[]): onnx.IValueInfoProto {
  const dim = shape.map((d) => (d === null ? {} : typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** skl2onnx's ZipMap output: sequence(map(label, float)). */
function zipMapInfo(name: string, keyType: number): onnx.IValueInfoProto {
  return { name, type: { sequenceType: { elemType: { mapType: { keyType, valueType: { tensorType: { elemType: DataType.FLOAT } } } } } } };
}

const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: AttrType.INT, i }),
  ints: (name: string, ints: number[]): onnx.IAttributeProto => ({ name, type: AttrType.INTS, ints }),
  floats: (name: string, floats: number[]): onnx.IAttributeProto => ({ name, type: AttrType.FLOATS, floats }),
  string: (name: string, s: string): onnx.IAttributeProto => ({ name, type: AttrType.STRING, s: Buffer.from(s) }),
  strings: (name: string, ss: string[]): onnx.IAttributeProto => ({ name, type: AttrType.STRINGS, strings: ss.map((s) => Buffer.from(s)) }),
};

function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = [], domain = ''): onnx.INodeProto {
  return { opType, input, output, attribute, domain, name: `${opType}_${output[0]}` };
}

function encode(graph: { nodes: onnx.INodeProto[]; inputs: onnx.IValueInfoProto[]; outputs: onnx.IValueInfoProto[]; initializers?: onnx.ITensorProto[]; ir?: number; opset?: number; ml?: number }): Buffer {
  const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: graph.opset ?? 17 }];
  if (graph.ml) opsetImport.push({ domain: 'ai.onnx.ml', version: graph.ml });
  const model: onnx.IModelProto = {
    irVersion: graph.ir ?? 8,
    opsetImport,
    producerName: 'serving-model-shapes',
    graph: { name: 'g', node: graph.nodes, input: graph.inputs, output: graph.outputs, initializer: graph.initializers ?? [] },
  };
  return Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish());
}

/** A skl2onnx LinearClassifier (softmax) over float_input [?, 4]: output_label, then ZipMap'd or plain probabilities. */
function linearClassifier(labels: number[] | string[], zipMap: boolean): Buffer {
  const strings = typeof labels[0] === 'string';
  const classLabels = strings ? attr.strings('classlabels_strings', labels as string[]) : attr.ints('classlabels_ints', labels as number[]);
  const nodes = [
    node('LinearClassifier', ['float_input'], ['label', 'probability_tensor'], [classLabels, attr.floats('coefficients', [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0.5]), attr.floats('intercepts', [0, 0.1, -0.1]), attr.string('post_transform', 'SOFTMAX')], 'ai.onnx.ml'),
    node('Identity', ['label'], ['output_label']),
    zipMap
      ? node('ZipMap', ['probability_tensor'], ['output_probability'], [strings ? attr.strings('classlabels_strings', labels as string[]) : attr.ints('classlabels_int64s', labels as number[])], 'ai.onnx.ml')
      : node('Identity', ['probability_tensor'], ['probabilities']),
  ];
  const outputs = [
    tensorInfo('output_label', strings ? DataType.STRING : DataType.INT64, [null]),
    zipMap ? zipMapInfo('output_probability', strings ? DataType.STRING : DataType.INT64) : tensorInfo('probabilities', DataType.FLOAT, [null, 3]),
  ];
  return encode({ nodes, inputs: [tensorInfo('float_input', DataType.FLOAT, [null, 4])], outputs, ir: 7, opset: 13, ml: 1 });
}

/** skl2onnx with one [?, 1] input per column: a store code (CategoryMapper), a price (Imputer, Scaler), a count, a flag and a weight. */
function perColumnPipeline(): Buffer {
  const toFloat = (from: string, to: string) => node('Cast', [from], [to], [attr.int('to', DataType.FLOAT)]);
  return encode({
    ml: 2,
    opset: 15,
    inputs: [
      tensorInfo('store', DataType.STRING, [null, 1]),
      tensorInfo('price', DataType.FLOAT, [null, 1]),
      tensorInfo('qty', DataType.INT64, [null, 1]),
      tensorInfo('promo', DataType.BOOL, [null, 1]),
      tensorInfo('weight', DataType.DOUBLE, [null, 1]),
    ],
    outputs: [tensorInfo('variable', DataType.FLOAT, [null, 1]), tensorInfo('store_code', DataType.INT64, [null, 1])],
    nodes: [
      node('CategoryMapper', ['store'], ['store_code'], [attr.strings('cats_strings', ['a', 'b', 'c']), attr.ints('cats_int64s', [0, 1, 2]), attr.int('default_int64', -1)], 'ai.onnx.ml'),
      node('Imputer', ['price'], ['imputed'], [attr.floats('imputed_value_floats', [9.5]), { name: 'replaced_value_float', type: AttrType.FLOAT, f: NaN }], 'ai.onnx.ml'),
      node('Scaler', ['imputed'], ['scaled'], [attr.floats('offset', [1]), attr.floats('scale', [2])], 'ai.onnx.ml'),
      toFloat('qty', 'qty_f'),
      toFloat('promo', 'promo_f'),
      toFloat('weight', 'weight_f'),
      toFloat('store_code', 'code_f'),
      node('Sum', ['scaled', 'qty_f', 'promo_f', 'weight_f', 'code_f'], ['variable']),
    ],
  });
}

/** What onnxruntime answers for its tensor outputs, as plain arrays (int64 as numbers). */
async function runtimeAnswer(bytes: Buffer, feeds: Record<string, Tensor>): Promise<Record<string, { dims: readonly number[]; data: unknown[] }>> {
  const session = await InferenceSession.create(bytes);
  try {
    const names = session.outputMetadata.filter((m) => m.isTensor).map((m) => m.name);
    const out = await session.run(feeds, names);
    return Object.fromEntries(names.map((n) => [n, { dims: out[n].dims, data: Array.from(out[n].data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v)) }]));
  } finally {
    await session.release();
  }
}

/** Nested arrays of `data` by `dims`. */
function nest(dims: readonly number[], data: unknown[]): unknown {
  if (dims.length <= 1) return dims.length === 0 ? data[0] : data;
  const step = data.length / dims[0];
  return Array.from({ length: dims[0] }, (_, r) => nest(dims.slice(1), data.slice(r * step, (r + 1) * step)));
}

describe('serving models of every shape', () => {
  let t: TestApp;
  const register = async (name: string, bytes: Buffer) => {
    const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes) });
    if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { signature: { inputs: unknown[]; outputs: unknown[] } };
  };

  beforeAll(async () => {
    t = await startTestApp({ MMS_WORKERS: '1' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const ROWS = [
    [1, 2, 3, 4],
    [0.5, -1, 2, 0],
  ];
  const rowsTensor = () => new Tensor('float32', Float32Array.from(ROWS.flat()), [2, 4]);

  it.each([
    ['int64 labels', [0, 1, 2]],
    ['string labels', ['bike', 'car', 'walk']],
  ] as const)('answers a ZipMap classifier (%s) with its labels, as onnxruntime does', async (_, labels) => {
    const bytes = linearClassifier([...labels] as number[] | string[], true);
    const name = `zipmap-${typeof labels[0]}`;
    const { signature } = await register(name, bytes);
    expect(signature.inputs).toEqual([{ name: 'float_input', type: 'float32', shape: [null, 4] }]);
    expect(signature.outputs).toEqual([
      { name: 'output_label', type: typeof labels[0] === 'string' ? 'string' : 'int64', shape: [null] },
      { name: 'output_probability', type: 'non-tensor', shape: [] },
    ]);
    const want = (await runtimeAnswer(bytes, { float_input: rowsTensor() })).output_label.data;

    const predicted = await t.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: ROWS } } });
    expect(predicted.status).toBe(200);
    expect(predicted.body.outputs).toEqual({ output_label: want });
    const oip = await t.request('POST', `/v2/models/${name}/infer`, { body: { inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }] } });
    expect(oip.body.outputs).toEqual([{ name: 'output_label', datatype: typeof labels[0] === 'string' ? 'BYTES' : 'INT64', shape: [2], data: want }]);
    const mlflow = await t.request('POST', `/v1/models/${name}/invocations`, { body: { dataframe_split: { columns: ['a', 'b', 'c', 'd'], data: ROWS } } });
    expect(mlflow.body).toEqual({ predictions: want.map((label) => ({ output_label: label })) });

    // Asking OIP for the ZipMap output says what it is, on the HTTP thread and in the codec thread (a body of 128 KiB or more).
    const askZipMap = { inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }], outputs: [{ name: 'output_probability' }] };
    for (const body of [JSON.stringify(askZipMap), JSON.stringify(askZipMap) + ' '.repeat(130 * 1024)]) {
      const asked = await t.request('POST', `/v2/models/${name}/infer`, { body: new Blob([body], { type: 'application/json' }) });
      expect(asked.status).toBe(400);
      expect(asked.body.error.message).toBe(
        "Output 'output_probability' is a map or sequence (a classifier's ZipMap, say), which answers do not carry: the model's tensor outputs are 'output_label' (export a classifier without ZipMap to have its probabilities as a tensor)",
      );
    }
  });

  it('answers a classifier exported without ZipMap with the probabilities onnxruntime computes, on every protocol', async () => {
    const bytes = linearClassifier(['bike', 'car', 'walk'], false);
    await register('no-zipmap', bytes);
    const want = await runtimeAnswer(bytes, { float_input: rowsTensor() });
    const probabilities = nest(want.probabilities.dims, want.probabilities.data) as number[][];

    const predicted = await t.request('POST', '/v1/predict', { body: { model: 'no-zipmap', inputs: { float_input: ROWS } } });
    expect(predicted.body.outputs).toEqual({ output_label: want.output_label.data, probabilities });
    const fanout = await t.request('POST', '/v1/predict/fanout', { body: { requests: ROWS.map((row) => ({ model: 'no-zipmap', inputs: { float_input: [row] } })) } });
    expect(fanout.body.results.map((r: { outputs: { probabilities: number[][] } }) => r.outputs.probabilities[0])).toEqual(probabilities);
    const oip = await t.request('POST', '/v2/models/no-zipmap/infer', { body: { inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }], outputs: [{ name: 'probabilities' }] } });
    expect(oip.body.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [2, 3], data: want.probabilities.data }]);
    const mlflow = await t.request('POST', '/v1/models/no-zipmap/invocations', { body: { dataframe_records: ROWS.map(([a, b, c, d]) => ({ a, b, c, d })) } });
    expect(mlflow.body.predictions).toEqual(ROWS.map((_, r) => ({ output_label: want.output_label.data[r], probabilities: probabilities[r] })));
  });

  it('feeds one input per column (string, float, int64, bool, double) as onnxruntime computes them, on every protocol', async () => {
    const bytes = perColumnPipeline();
    const { signature } = await register('per-column', bytes);
    expect(signature.inputs).toEqual([
      { name: 'store', type: 'string', shape: [null, 1] },
      { name: 'price', type: 'float32', shape: [null, 1] },
      { name: 'qty', type: 'int64', shape: [null, 1] },
      { name: 'promo', type: 'bool', shape: [null, 1] },
      { name: 'weight', type: 'float64', shape: [null, 1] },
    ]);
    const want = await runtimeAnswer(bytes, {
      store: new Tensor('string', ['a', 'z'], [2, 1]),
      price: new Tensor('float32', Float32Array.from([1.5, 2]), [2, 1]),
      qty: new Tensor('int64', BigInt64Array.from([3n, 4n]), [2, 1]),
      promo: new Tensor('bool', Uint8Array.from([1, 0]), [2, 1]),
      weight: new Tensor('float64', Float64Array.from([0.25, 0.5]), [2, 1]),
    });
    const variable = nest(want.variable.dims, want.variable.data);

    const predicted = await t.request('POST', '/v1/predict', { body: { model: 'per-column', inputs: { store: [['a'], ['z']], price: [[1.5], [2]], qty: [[3], [4]], promo: [[true], [false]], weight: [[0.25], [0.5]] } } });
    expect(predicted.body.outputs).toEqual({ variable, store_code: [[0], [-1]] });
    const oip = await t.request('POST', '/v2/models/per-column/infer', {
      body: {
        inputs: [
          { name: 'store', shape: [2, 1], datatype: 'BYTES', data: ['a', 'z'] },
          { name: 'price', shape: [2, 1], datatype: 'FP32', data: [1.5, 2] },
          { name: 'qty', shape: [2, 1], datatype: 'INT64', data: [3, 4] },
          { name: 'promo', shape: [2, 1], datatype: 'BOOL', data: [true, false] },
          { name: 'weight', shape: [2, 1], datatype: 'FP64', data: [0.25, 0.5] },
        ],
      },
    });
    expect(oip.body.outputs[0]).toEqual({ name: 'variable', datatype: 'FP32', shape: [2, 1], data: want.variable.data });
    const csv = 'weight,promo,qty,price,store\n0.25,True,3,1.5,a\n0.5,False,4,2,z\n';
    const mlflow = await t.request('POST', '/v1/models/per-column/invocations', { body: new Blob([csv], { type: 'text/csv' }) });
    expect(mlflow.body.predictions).toEqual([
      { variable: want.variable.data[0], store_code: 0 },
      { variable: want.variable.data[1], store_code: -1 },
    ]);
    const wrongType = await t.request('POST', '/v1/predict', { body: { model: 'per-column', inputs: { store: [[42]], price: [[1.5]], qty: [[3]], promo: [[true]], weight: [[0.25]] } } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'store', expected: { type: 'string' } } });
  });

  it('refuses columns of different row counts to a model of one unnamed-batch input per column, naming the input', async () => {
    // The pipeline's Sum would broadcast a single store over two prices, answering rows of different lengths.
    const inputs = { store: [['a']], price: [[1.5], [2]], qty: [[3], [4]], promo: [[true], [false]], weight: [[0.25], [0.5]] };
    const predicted = await t.request('POST', '/v1/predict', { body: { model: 'per-column', inputs } });
    expect(predicted.status).toBe(400);
    expect(predicted.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'price', dimension: 0, expected: 1, got: 2 } });
    expect(predicted.body.error.message).toBe("Input 'price' has 2 rows (dimension 0) but input 'store' has 1: the model's inputs all take their rows along their first dimension");
    const oip = await t.request('POST', '/v2/models/per-column/infer', {
      body: {
        inputs: [
          { name: 'store', shape: [2, 1], datatype: 'BYTES', data: ['a', 'b'] },
          { name: 'price', shape: [2, 1], datatype: 'FP32', data: [1.5, 2] },
          { name: 'qty', shape: [1, 1], datatype: 'INT64', data: [3] },
          { name: 'promo', shape: [2, 1], datatype: 'BOOL', data: [true, false] },
          { name: 'weight', shape: [2, 1], datatype: 'FP64', data: [0.25, 0.5] },
        ],
      },
    });
    expect(oip.status).toBe(400);
    expect(oip.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'qty', expected: 2, got: 1 } });
  });

  it.each([
    [3, 7],
    [4, 9],
  ])('serves an IR %i / opset %i model that lists its initializers as inputs, asking only for the real input', async (ir, opset) => {
    const bytes = encode({
      ir,
      opset,
      inputs: [tensorInfo('float_input', DataType.FLOAT, ['N', 6]), tensorInfo('coef', DataType.FLOAT, [6, 1]), tensorInfo('intercept', DataType.FLOAT, [1])],
      outputs: [tensorInfo('variable', DataType.FLOAT, ['N', 1])],
      initializers: [
        { name: 'coef', dims: [6, 1], dataType: DataType.FLOAT, floatData: [1, 2, 3, 4, 5, 6] },
        { name: 'intercept', dims: [1], dataType: DataType.FLOAT, floatData: [0.5] },
      ],
      nodes: [node('MatMul', ['float_input', 'coef'], ['product']), node('Add', ['product', 'intercept'], ['variable'])],
    });
    const name = `ir${ir}-linear`;
    const { signature } = await register(name, bytes);
    expect(signature.inputs).toEqual([{ name: 'float_input', type: 'float32', shape: ['N', 6] }]);
    const metadata = await t.request('GET', `/v2/models/${name}`);
    expect(metadata.body.inputs).toEqual([{ name: 'float_input', datatype: 'FP32', shape: [-1, 6] }]);
    const rows = [
      [1, 2, 3, 4, 5, 6],
      [0, 0, 0, 0, 0, 1],
    ];
    const predicted = await t.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: rows } } });
    expect(predicted.body.outputs).toEqual({ variable: [[91.5], [6.5]] });
    const overriding = await t.request('POST', '/v1/predict', { body: { model: name, inputs: { float_input: rows, coef: [[1], [1], [1], [1], [1], [1]] } } });
    expect(overriding.status).toBe(400);
    expect(overriding.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'coef', expected: ['float_input'] } });
    // From IR 4 onnxruntime warns of each such initializer when it loads the model: not in the server's output.
    expect(t.output()).not.toContain('appears in graph inputs');
  });

  it("answers an output named '__proto__' like any other output, on every protocol", async () => {
    const bytes = encode({
      inputs: [tensorInfo('x', DataType.FLOAT, ['N', 2])],
      outputs: [tensorInfo('__proto__', DataType.FLOAT, ['N', 2]), tensorInfo('y', DataType.FLOAT, ['N', 2])],
      nodes: [node('Neg', ['x'], ['__proto__']), node('Identity', ['x'], ['y'])],
    });
    await register('proto-output', bytes);
    /** JSON.parse keeps a '__proto__' key as an own property: read it as one. */
    const own = (object: object, key: string) => Object.getOwnPropertyDescriptor(object, key)?.value as unknown;

    const predicted = await t.request('POST', '/v1/predict', { body: { model: 'proto-output', inputs: { x: [[1, 2]] } } });
    expect(Object.keys(predicted.body.outputs)).toEqual(['__proto__', 'y']);
    expect(own(predicted.body.outputs, '__proto__')).toEqual([[-1, -2]]);
    const fanout = await t.request('POST', '/v1/predict/fanout', { body: { requests: [{ model: 'proto-output', inputs: { x: [[3, 4]] } }] } });
    expect(own(fanout.body.results[0].outputs, '__proto__')).toEqual([[-3, -4]]);
    const records = await t.request('POST', '/v1/models/proto-output/invocations', { body: { dataframe_split: { data: [[1, 2]] } } });
    expect(Object.keys(records.body.predictions[0])).toEqual(['__proto__', 'y']);
    expect(own(records.body.predictions[0], '__proto__')).toEqual([-1, -2]);
    const oip = await t.request('POST', '/v2/models/proto-output/infer', { body: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] } });
    expect(oip.body.outputs.map((o: { name: string }) => o.name)).toEqual(['__proto__', 'y']);
  });
});
