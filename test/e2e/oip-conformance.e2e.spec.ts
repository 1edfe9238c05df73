import { onnx } from 'onnx-proto';
import { buildLinearModel, buildStoreCodeModel, buildTypedModel, onnxGraph, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const ROW = RETAIL_SAMPLE_ROWS[1];
const ROW_SUM = ROW.reduce((a, b) => a + b, 0);
/** An infer request to `linear` (y = sum(x)), as OIP clients build it. */
const INFER = { id: 'r-1', inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', data: ROW }] };

/** The Open Inference Protocol REST surface as real clients (tritonclient.http, KServe's InferenceRESTClient) call it. */
describe('Open Inference Protocol conformance', () => {
  let t: TestApp;

  const upload = async (name: string, bytes: Buffer) => {
    const res = await t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes) });
    if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  };

  beforeAll(async () => {
    t = await startTestApp();
    await upload('linear', buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias: 0 }).bytes);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('health', () => {
    // KServe's InferenceRESTClient: is_server_live() is response.json().get("live"), is_server_ready() .get("ready").
    it('answers live and ready as booleans, without a credential', async () => {
      const live = await t.request('GET', '/v2/health/live', { headers: { authorization: '' } });
      expect(live.status).toBe(200);
      expect(live.body.live).toBe(true);
      const ready = await t.request('GET', '/v2/health/ready', { headers: { authorization: '' } });
      expect(ready.status).toBe(200);
      expect(ready.body.ready).toBe(true);
    });
  });

  describe("Triton's model configuration extension", () => {
    it('answers GET …/config with the ModelConfig Triton gives an ONNX model served as it is, and lists the extension', async () => {
      await upload('typed-config', buildTypedModel().bytes);
      const want = {
        name: 'typed-config',
        platform: 'onnxruntime_onnx',
        backend: 'onnxruntime',
        max_batch_size: 0,
        input: [
          { name: 'a', data_type: 'TYPE_FP64', dims: [-1, 2] },
          { name: 'b', data_type: 'TYPE_INT64', dims: [-1, 2] },
          { name: 'c', data_type: 'TYPE_INT32', dims: [-1, 2] },
          { name: 'd', data_type: 'TYPE_BOOL', dims: [-1, 1] },
        ],
        output: expect.arrayContaining([{ name: 'sum_a', data_type: 'TYPE_FP64', dims: [-1, 1] }]),
      };
      for (const path of ['/v2/models/typed-config/config', '/v2/models/typed-config/versions/1/config']) {
        const res = await t.request('GET', path);
        expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 200, body: want });
      }
      const store = await t.request('GET', '/v2/models/store-config/config');
      expect(store.status).toBe(404);
      await upload('store-config', buildStoreCodeModel({ a: 1 }).bytes);
      expect((await t.request('GET', '/v2/models/store-config/config')).body.input[0]).toEqual({ name: 'store', data_type: 'TYPE_STRING', dims: [-1, 1] });
      expect((await t.request('GET', '/v2/models/typed-config/versions/9/config')).body.error.code).toBe('VERSION_NOT_FOUND');
      expect((await t.request('GET', '/v2/models/typed-config/config', { headers: { authorization: '' } })).status).toBe(401);
      expect((await t.request('GET', '/v2')).body.extensions).toEqual(['model_configuration']);
    });
  });

  describe('infer bodies', () => {
    // tritonclient's HTTP client (geventhttpclient) and KServe's InferenceRESTClient (httpx, content=bytes) set no Content-Type.
    it.each(['/v2/models/linear/infer', '/v2/models/linear/versions/1/infer'])('reads a body sent without a content type as JSON on %s', async (path) => {
      const res = await t.request('POST', path, { body: new Blob([JSON.stringify(INFER)]) });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ model_name: 'linear', model_version: '1', id: 'r-1', outputs: [{ name: 'variable', datatype: 'FP32', shape: [1, 1] }] });
      expect(res.body.outputs[0].data[0]).toBeCloseTo(ROW_SUM, 3);
    });

    it('still refuses other body types, and a body without a type on other routes (415)', async () => {
      const octets = await t.request('POST', '/v2/models/linear/infer', { body: new Blob([JSON.stringify(INFER)], { type: 'application/octet-stream' }) });
      expect(octets.status).toBe(415);
      expect(octets.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      const predict = await t.request('POST', '/v1/predict', { body: new Blob([JSON.stringify({ model: 'linear', inputs: { float_input: [ROW] } })]) });
      expect(predict.status).toBe(415);
    });

    it('infers a model that takes no inputs with inputs: [] (a constant), as /v1/predict does with {}', async () => {
      const value: onnx.IAttributeProto = { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: onnxGraph.floatTensor('value', [2], [1.5, 2.5]) };
      await upload('constant', onnxGraph.encode({ name: 'constant', inputs: [], outputs: [{ name: 'y', dtype: 'float32', shape: [2] }], initializers: [], nodes: [onnxGraph.node('Constant', [], ['y'], { attribute: [value] })] }));
      expect((await t.request('GET', '/v2/models/constant')).body).toMatchObject({ inputs: [], outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }] });
      const res = await t.request('POST', '/v2/models/constant/infer', { body: { id: 'c', inputs: [] } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ model_name: 'constant', model_version: '1', id: 'c', outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data: [1.5, 2.5] }] });
      expect((await t.request('POST', '/v2/models/linear/infer', { body: { inputs: [] } })).body.error.message).toContain('non-empty array');
    });

    it("refuses Triton's binary tensor data extension saying to send JSON (415)", async () => {
      const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 6], datatype: 'FP32', parameters: { binary_data_size: 24 } }] }));
      const body = Buffer.concat([json, Buffer.from(new Float32Array(ROW).buffer)]);
      const res = await t.request('POST', '/v2/models/linear/infer', { body: new Blob([body]), headers: { 'inference-header-content-length': String(json.length) } });
      expect(res.status).toBe(415);
      expect(res.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('binary_data=False'), details: { extension: 'binary_tensor_data' } });
      // A header as long as the whole body announces no binary part: plain JSON.
      const whole = Buffer.from(JSON.stringify(INFER));
      const plain = await t.request('POST', '/v2/models/linear/infer', { body: new Blob([whole]), headers: { 'inference-header-content-length': String(whole.length) } });
      expect(plain.status).toBe(200);
    });
  });
});
