import { AnswerParts, isBigAnswer, withOwnBuffers } from './answer-body';
import type { HostTensor } from './tensor-codec';

const tensor = (data: HostTensor['data'], dims = [data.length]): HostTensor => ({ name: 'y', type: 'float32', dims, data });

describe('isBigAnswer', () => {
  it('counts the values of every output against 16,384', () => {
    expect(isBigAnswer([tensor(new Float32Array(16_384))])).toBe(false);
    expect(isBigAnswer([tensor(new Float32Array(16_384)), tensor(new Float32Array(1))])).toBe(true);
  });
});

describe('withOwnBuffers', () => {
  // A micro-batched call's outputs: views into the one buffer of the whole batch.
  const batch = Float32Array.from({ length: 1_000 }, (_, i) => i);
  const view = batch.subarray(100, 200);

  it('copies an output that is a view into a bigger buffer, and only its values', () => {
    const [own] = (withOwnBuffers({ route: 'predict', model: 'm', version: 1, predictionId: 'p', outputs: [tensor(view)] }) as Extract<AnswerParts, { route: 'predict' }>).outputs;
    expect((own.data as Float32Array).buffer.byteLength).toBe(100 * 4);
    expect(Array.from(own.data as Float32Array)).toEqual(Array.from(view));
    expect(own.dims).toEqual([100]);
  });

  it('leaves outputs that own their buffer (and strings) as they are, in every kind of answer', () => {
    const whole = tensor(batch);
    const strings = tensor(['a', 'b']);
    const oip = withOwnBuffers({ route: 'oip', model: 'm', version: 1, outputs: [whole, strings] }) as Extract<AnswerParts, { route: 'oip' }>;
    expect(oip.outputs[0]).toBe(whole);
    expect(oip.outputs[1]).toBe(strings);
    const fanout = withOwnBuffers({ route: 'fanout', results: [{ error: { code: 'X', message: 'x', details: {} } }, { model: 'm', version: 1, predictionId: 'p', outputs: [tensor(view)] }] }) as Extract<AnswerParts, { route: 'fanout' }>;
    expect(fanout.results[0]).toEqual({ error: { code: 'X', message: 'x', details: {} } });
    expect(((fanout.results[1] as { outputs: HostTensor[] }).outputs[0].data as Float32Array).buffer.byteLength).toBe(400);
  });
});
