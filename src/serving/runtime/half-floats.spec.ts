import { decodeHalfFloats, float16Value } from './half-floats';

describe('half floats', () => {
  it('decodes float16 codes to their numbers, NaN and the infinities included', () => {
    const codes = new Uint16Array([0x3e00, 0x7bff, 0x7c00, 0xfc00, 0x2e66, 0x0001, 0x8000, 0x7e00, 0xc000]);
    expect(Array.from(decodeHalfFloats('float16', codes)!)).toEqual([1.5, 65504, Infinity, -Infinity, Math.fround(0.0999755859375), Math.fround(2 ** -24), -0, NaN, -2]);
    expect(float16Value(0x3c00)).toBe(1);
  });

  it('leaves every other type alone', () => {
    expect(decodeHalfFloats('uint16', new Uint16Array([1]))).toBeNull();
    expect(decodeHalfFloats('float32', new Float32Array([1]))).toBeNull();
  });
});
