/**
 * onnxruntime-node hands float16 tensors over as their raw 16-bit codes in a Uint16Array (Node 20
 * has no Float16Array): decoded here to the numbers they stand for, so that answers and batch
 * outputs carry 1.5, not 15872. (It refuses bfloat16 models at load, so those never get here.)
 */

/** A float16 tensor's values as float32 (every float16 value is one exactly); null for any other type. */
export function decodeHalfFloats(type: string, data: unknown): Float32Array | null {
  return type === 'float16' && data instanceof Uint16Array ? Float32Array.from(data, float16Value) : null;
}

/** IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
