import type { Worker } from 'node:worker_threads';
import type { TensorSpec } from '../../registry/artifact/artifact.types';
import { JsonCodec } from './json-codec';

/** The JSON codec thread, real (a worker thread running json-codec-worker). */
describe('JsonCodec', () => {
  const specs: TensorSpec[] = [{ name: 'x', type: 'float32', shape: ['N', 2] }];
  const body = (values: number[]) => Buffer.from(JSON.stringify({ model: 'm', inputs: { x: [values] } }));
  let codec: JsonCodec;

  beforeEach(() => (codec = new JsonCodec()));
  afterEach(() => codec.close());

  it('parses, then decodes against the signature it is given', async () => {
    const parsed = await codec.parse('predict', body([1, 2]));
    expect(parsed.selector).toEqual({ model: 'm' });
    const { tensors } = await codec.decode('predict', parsed.token, specs);
    expect(tensors).toEqual([{ name: 'x', type: 'float32', dims: [1, 2], data: new Float32Array([1, 2]) }]);
  });

  it('never hands a request the inputs another request parsed after the thread restarted', async () => {
    const first = await codec.parse('predict', body([1, 2]));
    await (codec as unknown as { worker: Worker }).worker.terminate();
    const second = await codec.parse('predict', body([9, 9]));
    await expect(codec.decode('predict', first.token, specs)).rejects.toMatchObject({ code: 'WORKER_UNAVAILABLE' });
    const { tensors } = await codec.decode('predict', second.token, specs);
    expect(tensors[0].data).toEqual(new Float32Array([9, 9]));
  });

  it('refuses to decode a token as another route than it was parsed for', async () => {
    const parsed = await codec.parse('predict', body([1, 2]));
    await expect(codec.decode('mlflow', parsed.token, specs)).rejects.toMatchObject({ code: 'WORKER_UNAVAILABLE' });
  });

  it('refuses a body as the HTTP layer would, saying why', async () => {
    await expect(codec.parse('oip', Buffer.from('{"inputs": [1 2]}'))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: "Body is not valid JSON: Expected ',' or ']' after array element in JSON at position 14" });
    await expect(codec.parse('oip', Buffer.from('{"__proto__": {}, "inputs": []}'))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining("'__proto__'") });
  });
});
