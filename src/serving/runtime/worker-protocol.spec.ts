import type { HostTensor } from '../tensor-codec';
import { fromWire, toWire } from './worker-protocol';

describe('tensors on the wire', () => {
  const tensor = (data: HostTensor['data'], type = 'float32'): HostTensor => ({ name: 'x', type, dims: [1, data.length], data });
  const posted = (t: HostTensor) => {
    const moved: ArrayBuffer[] = [];
    const wire = toWire(t, (b) => moved.push(b));
    // What the other thread receives: a structured clone, with the moved buffers transferred.
    return { back: fromWire(structuredClone(wire, { transfer: moved })), moved, wire };
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
    const { back, moved, wire } = posted(tensor(data, type));
    expect(moved).toHaveLength(0);
    expect(ArrayBuffer.isView(wire.data)).toBe(false);
    expect(back.data.constructor).toBe(data.constructor);
    expect(back).toEqual({ name: 'x', type, dims: [1, data.length], data });
  });

  it('moves a big tensor\'s buffer instead of copying it', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i / 3);
    const { back, moved } = posted(tensor(data));
    expect(moved).toEqual([data.buffer]);
    expect(back.data).toEqual(Float32Array.from({ length: 1000 }, (_, i) => i / 3));
  });

  it('keeps a small view of a bigger buffer to its own values', () => {
    const merged = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const { back, moved } = posted(tensor(merged.subarray(2, 4)));
    expect(moved).toHaveLength(0);
    expect(back.data).toEqual(Float32Array.from([3, 4]));
  });

  it('leaves string tensors as they are', () => {
    const { back, moved } = posted(tensor(['a', 'b'], 'string'));
    expect(moved).toHaveLength(0);
    expect(back.data).toEqual(['a', 'b']);
  });
});
