import type { HostTensor } from '../tensor-codec';
import { RunJob, WireReader, WireWriter, WorkerReply } from './worker-protocol';

/** What the other thread receives: a structured clone of the flat array, with the moved buffers transferred. */
function posted(wire: WireWriter): WireReader {
  return new WireReader(structuredClone(wire.values, { transfer: [...wire.transfer] }));
}

describe('jobs and replies on the wire', () => {
  const tensor = (data: HostTensor['data'], type = 'float32', name = 'x'): HostTensor => ({ name, type, dims: [1, data.length], data });
  const job = (id: number, ...parts: HostTensor[][]): RunJob => ({ id, key: `tenant:model:${id}`, parts, batchable: id % 2 === 0 });
  const sendTensor = (t: HostTensor) => {
    const wire = new WireWriter();
    wire.job(job(1, [t]));
    return { back: posted(wire).job().parts[0][0], wire };
  };

  it.each([
    ['float32', new Float32Array([1.5, -2.25, 3.4028234663852886e38, NaN])],
    ['float64', new Float64Array([0.1, 1e300, -Infinity])],
    ['int8', new Int8Array([-128, 127])],
    ['uint8', new Uint8Array([0, 255, 1])],
    ['int16', new Int16Array([-32768, 32767])],
    ['uint16', new Uint16Array([65535])],
    ['int32', new Int32Array([-2147483648, 7])],
    ['uint32', new Uint32Array([4294967295])],
    ['int64', new BigInt64Array([-(2n ** 63n), 2n ** 62n])],
    ['uint64', new BigUint64Array([2n ** 64n - 1n])],
  ] as const)('sends a small %s tensor as plain values and gets the same typed array back', (type, data) => {
    const { back, wire } = sendTensor(tensor(data, type));
    expect(wire.transfer.size).toBe(0);
    expect(wire.values.some((v) => ArrayBuffer.isView(v))).toBe(false);
    expect(back.data.constructor).toBe(data.constructor);
    expect(back).toEqual({ name: 'x', type, dims: [1, data.length], data });
  });

  it("moves a big tensor's buffer instead of copying it", () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i / 3);
    const { back, wire } = sendTensor(tensor(data));
    expect([...wire.transfer]).toEqual([data.buffer]);
    expect(data.byteLength).toBe(0); // moved away
    expect(back.data).toEqual(Float32Array.from({ length: 1000 }, (_, i) => i / 3));
  });

  it('keeps a small view of a bigger buffer to its own values', () => {
    const merged = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const { back, wire } = sendTensor(tensor(merged.subarray(2, 4)));
    expect(wire.transfer.size).toBe(0);
    expect(back.data).toEqual(Float32Array.from([3, 4]));
  });

  it('leaves string tensors as they are', () => {
    const { back, wire } = sendTensor(tensor(['a', 'b'], 'string'));
    expect(wire.transfer.size).toBe(0);
    expect(back.data).toEqual(['a', 'b']);
  });

  it('reads back several jobs, each with several parts of several tensors, in order', () => {
    const jobs = [
      job(7, [tensor(new Float32Array([1, 2])), tensor(new Int32Array([3]), 'int32', 'y')], [tensor(new Float32Array([4, 5])), tensor(new Int32Array([6]), 'int32', 'y')]),
      job(8, [{ name: 'z', type: 'float64', dims: [2, 3, 1], data: new Float64Array([1, 2, 3, 4, 5, 6]) }]),
      job(9),
    ];
    const wire = new WireWriter();
    for (const j of jobs) wire.job(j);
    const reader = posted(wire);
    const back: RunJob[] = [];
    while (!reader.done) back.push(reader.job());
    expect(back).toEqual(jobs);
  });

  it('reads back replies: outputs, failed parts, whole-job errors, load answers and the unbatchable flag', () => {
    const shared = new Float32Array(200).map((_, i) => i);
    const replies: WorkerReply[] = [
      { id: 1, parts: [{ outputs: [tensor(new Float32Array([0.5]), 'float32', 'variable'), tensor(['cat'], 'string', 'label')] }, { error: 'bad part' }] },
      { id: 2, parts: [{ outputs: [tensor(shared.subarray(0, 100))] }, { outputs: [tensor(shared.subarray(100))] }], unbatchable: true },
      { id: 3, error: 'the model is not loaded in this worker', parts: [] },
      { id: 4, parts: [] },
    ];
    const expected = structuredClone(replies);
    const wire = new WireWriter();
    for (const r of replies) wire.reply(r);
    expect([...wire.transfer]).toEqual([shared.buffer]); // two views of one buffer: moved once
    const reader = posted(wire);
    const back: WorkerReply[] = [];
    while (!reader.done) back.push(reader.reply());
    expect(back).toEqual(expected);
  });
});
