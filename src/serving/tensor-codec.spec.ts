import { decodeOipRequest } from './oip-payload';
import type { TensorSpec } from '../registry/artifact/artifact.types';
import { ServingError } from './serving.error';
import { decodeInput, decodeInputs, decodeShaped, oipDatatypeOf, rowOf, toFlat, toNested } from './tensor-codec';

const features: TensorSpec = { name: 'float_input', type: 'float32', shape: ['N', 6] };
const typed: TensorSpec[] = [
  { name: 'a', type: 'float64', shape: ['N', 2] },
  { name: 'b', type: 'int64', shape: ['N', 2] },
  { name: 'c', type: 'int32', shape: ['N', 2] },
  { name: 'd', type: 'bool', shape: ['N', 1] },
];

/** The ServingError a call throws, for asserting its code, message and details. */
function errorOf(fn: () => unknown): ServingError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ServingError) return error;
    throw error;
  }
  throw new Error('expected a ServingError');
}

describe('tensor-codec', () => {
  describe('decoding', () => {
    it('reads nested rows into a Float32Array with their shape', () => {
      const t = decodeInput(features, [
        [1, 0, 4.5, 120, 98, 14],
        [2, 1, 3.5, 100, 90, 12],
      ]);
      expect(t.dims).toEqual([2, 6]);
      expect(t.data).toBeInstanceOf(Float32Array);
      expect(Array.from(t.data as Float32Array)).toEqual([1, 0, 4.5, 120, 98, 14, 2, 1, 3.5, 100, 90, 12]);
    });

    it('reads {shape, data} with flat or nested data', () => {
      const flat = decodeInput(features, { shape: [1, 6], data: [1, 2, 3, 4, 5, 6] });
      const nested = decodeShaped(features, [1, 6], [[1, 2, 3], [4, 5, 6]]);
      expect(flat.dims).toEqual([1, 6]);
      expect(Array.from(nested.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('writes each dtype into its typed array (int64 as BigInt, bool as bytes)', () => {
      const [a, b, c, d] = decodeInputs(typed, { a: [[1.5, 2]], b: [[2 ** 40, -3]], c: [[7, -8]], d: [[true]] });
      expect(a.data).toBeInstanceOf(Float64Array);
      expect(b.data).toEqual(new BigInt64Array([2n ** 40n, -3n]));
      expect(c.data).toEqual(new Int32Array([7, -8]));
      expect(d.data).toEqual(new Uint8Array([1]));
    });

    it('takes int64 values as decimal strings, exactly (as answers give those beyond 2^53)', () => {
      const [, b] = decodeInputs(typed, { a: [[1, 2]], b: [['9223372036854775807', '-9223372036854775808']], c: [[1, 2]], d: [[true]] });
      expect(b.data).toEqual(new BigInt64Array([2n ** 63n - 1n, -(2n ** 63n)]));
      const round = toNested({ type: 'int64', dims: [1, 2], data: new BigInt64Array([2n ** 53n + 1n, 7n]) });
      expect(round).toEqual([['9007199254740993', 7]]);
      const [, again] = decodeInputs(typed, { a: [[1, 2]], b: round, c: [[1, 2]], d: [[true]] });
      expect(again.data).toEqual(new BigInt64Array([2n ** 53n + 1n, 7n]));
    });

    it.each([
      ['a string for float32', features, [[1, 2, 3, 4, 5, 'x']], /float32: expected numbers, got the string "x" at \[0\]\[5\]/],
      ['a boolean for float32', features, [[1, 2, 3, 4, 5, true]], /got the boolean true/],
      ['null for float32', features, [[1, 2, 3, 4, 5, null]], /got null/],
      ['a fraction for int64', typed[1], [[1.5, 2]], /int64: expected integers from -9223372036854775808 to 9223372036854775807 .*, got the number 1.5/],
      ['a non-decimal string for int64', typed[1], [['12.0', 2]], /int64: expected integers .*decimal strings.*, got the string "12.0"/],
      ['a number beyond int64', typed[1], [[-1e30, 2]], /int64: expected integers from -9223372036854775808 to 9223372036854775807 .*, got the number -1e\+30/],
      ['a decimal string beyond int64', typed[1], [['9223372036854775808', 2]], /int64: expected integers from -9223372036854775808/],
      ['a number beyond int32', typed[2], [[2 ** 31, 0]], /int32: expected integers from -2147483648 to 2147483647/],
      ['a number for bool', typed[3], [[1]], /bool: expected booleans/],
    ])('refuses %s', (_what, spec, value, message) => {
      const error = errorOf(() => decodeInput(spec, value));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(message);
      expect(error.details.input).toBe(spec.name);
    });

    it('names the expected rank and shape', () => {
      const error = errorOf(() => decodeInput(features, [1, 0, 4.5, 120, 98, 14]));
      expect(error.message).toBe("Input 'float_input': expected rank 2 (shape [N, 6]), got rank 1 (shape [6])");
      expect(error.details).toMatchObject({ expected: { rank: 2 }, got: { rank: 1 } });
    });

    it('keeps the error short for an array nested 100,000 deep (the shape is cut after 16 dimensions)', () => {
      let deep: unknown = [1];
      for (let i = 0; i < 100_000; i++) deep = [deep];
      const error = errorOf(() => decodeInput(features, deep));
      expect(error.message).toMatch(/^Input 'float_input': expected rank 2 \(shape \[N, 6\]\), got rank 100001 \(shape \[1, 1, .*, … 99985 more\]\)$/);
      expect(JSON.stringify(error.details).length).toBeLessThan(500);
      const shaped = errorOf(() => decodeShaped(features, new Array(100_000).fill(1), [1]));
      expect(shaped.message.length + JSON.stringify(shaped.details).length).toBeLessThan(600);
    });

    it('names a wrong fixed dimension', () => {
      const error = errorOf(() => decodeInput(features, [[1, 2, 3, 4, 5]]));
      expect(error.message).toBe("Input 'float_input': dimension 1 must be 6 (shape [N, 6]), got 5");
    });

    it('finds ragged rows after the first', () => {
      const error = errorOf(() => decodeInput(features, [[1, 2, 3, 4, 5, 6], [1, 2, 3]]));
      expect(error.message).toMatch(/ragged .* at \[1\]: expected an array of 6 values, got 3 values/);
    });

    it('checks data against the declared shape', () => {
      expect(errorOf(() => decodeShaped(features, [2, 6], [1, 2, 3])).message).toMatch(/needs 12 values, data has 3/);
      expect(errorOf(() => decodeShaped(features, [1, 6], [1, 2, 3, 4, 5, 6, 7])).message).toMatch(/needs 6 values, data has more/);
      expect(errorOf(() => decodeShaped(features, 'x', [1])).message).toMatch(/shape must be an array/);
      expect(errorOf(() => decodeShaped(features, [0, 6], [])).message).toMatch(/is empty/);
    });

    it('calls an empty nested array empty, not a wrong rank', () => {
      expect(errorOf(() => decodeInput(features, [])).message).toBe("Input 'float_input' is empty: dimension 0 has size 0");
      expect(errorOf(() => decodeInput(features, [[]])).message).toBe("Input 'float_input' is empty: dimension 1 has size 0");
    });

    it('refuses data nested deeper than the shape, however deep (a 400, not a stack overflow)', () => {
      expect(errorOf(() => decodeShaped(features, [1, 6], [[[1, 2, 3, 4, 5, 6]]])).message).toMatch(/nested deeper than its shape's 2 dimension/);
      let deep: unknown = [1, 2, 3, 4, 5, 6];
      for (let i = 0; i < 200_000; i++) deep = [deep];
      expect(errorOf(() => decodeShaped(features, [1, 6], deep)).code).toBe('INVALID_INPUT');
      // Partial nesting within the rank still reads row-major.
      expect(Array.from(decodeShaped(features, [2, 6], [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]).data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });

    it('refuses unknown and missing inputs by name', () => {
      expect(errorOf(() => decodeInputs([features], { float_input: [[1, 2, 3, 4, 5, 6]], extra: [] })).message).toBe(
        "Unknown input 'extra': the model's inputs are 'float_input'",
      );
      expect(errorOf(() => decodeInputs(typed, { a: [[1, 2]], b: [[1, 2]], c: [[1, 2]] })).message).toBe("Missing input 'd' (bool, shape [N, 1])");
      // An input named like an Object.prototype member is missing when the request lacks it.
      const named: TensorSpec = { name: 'toString', type: 'float32', shape: ['N', 1] };
      expect(errorOf(() => decodeInputs([named], {})).message).toBe("Missing input 'toString' (float32, shape [N, 1])");
    });

    it("requires an input's own dimensions of one name to agree ([N, N])", () => {
      const square: TensorSpec = { name: 'm', type: 'float32', shape: ['N', 'N'] };
      expect(decodeInputs([square], { m: [[1, 2], [3, 4]] })[0].dims).toEqual([2, 2]);
      expect(errorOf(() => decodeInputs([square], { m: [[1, 2, 3], [4, 5, 6]] })).message).toBe("Input 'm' has N = 3 (dimension 1) but its dimension 0 has N = 2");
    });

    it('requires inputs that share a symbolic dimension to agree on it', () => {
      const error = errorOf(() => decodeInputs(typed, { a: [[1, 2]], b: [[1, 2], [3, 4]], c: [[1, 2]], d: [[true]] }));
      expect(error.message).toBe("Input 'b' has N = 2 (dimension 0) but input 'a' has N = 1");
    });

    it('says a shape is missing, rather than showing it as "undefined"', () => {
      const error = errorOf(() => decodeInput(features, { data: [1, 2, 3, 4, 5, 6] }));
      expect(error.message).toBe("Input 'float_input' has data but no shape: give its shape, an array of non-negative integers (expected [N, 6])");
      expect(JSON.stringify(error.details)).not.toContain('undefined');
    });

    it('takes strings for a string input, refusing other values and U+0000 (onnxruntime cuts a string there)', () => {
      const store = { name: 'store', type: 'string', shape: ['N', 1] };
      expect(decodeInput(store, [['0042'], ['']]).data).toEqual(['0042', '']);
      expect(errorOf(() => decodeInput(store, [[42]])).message).toBe("Input 'store' is string: expected strings (without the character U+0000), got the number 42 at [0][0]");
      expect(errorOf(() => decodeInput(store, [['a\u0000b']])).details).toMatchObject({ input: 'store', at: '[0][0]' });
    });

    it('refuses element types it cannot feed', () => {
      expect(errorOf(() => decodeInput({ name: 's', type: 'float16', shape: ['N'] }, [1])).message).toMatch(/element type float16/);
      // Through OIP too, rather than "is FP16 in the model, got datatype FP16".
      const half = { name: 'h', type: 'float16', shape: ['N', 2] };
      const oip = errorOf(() => decodeOipRequest({ inputs: [{ name: 'h', datatype: 'FP16', shape: [1, 2], data: [1, 2] }], outputs: undefined }, [half], []));
      expect(oip.message).toBe("Input 'h' has element type float16, which this server cannot feed");
    });

    it('refuses numbers the float type cannot hold instead of feeding Infinity', () => {
      const tooBig = errorOf(() => decodeInput(features, [[1, 2, 3, 4, 1e39, 6]]));
      expect(tooBig.code).toBe('INVALID_INPUT');
      expect(tooBig.message).toBe("Input 'float_input' is float32: expected numbers, got the number 1e+39, beyond float32's range (±3.4e38) at [0][4]");
      expect(errorOf(() => decodeShaped(features, [1, 6], [1, 2, 3, 4, 5, -1e39])).details).toMatchObject({ at: '[0][5]' });
      expect(errorOf(() => decodeInput(features, [[1e39, 2, 3, 4, 5, null]], { nullAsNaN: true })).code).toBe('INVALID_INPUT'); // MLflow data frames too
      // The largest float32, and what rounds to it, still fit; float64 takes them and refuses only Infinity (JSON's 1e400).
      expect((decodeInput(features, [[3.4028234663852886e38, 3.4028235e38, -3.4028235e38, 1e-50, 0, 1]]).data as Float32Array)[1]).toBe(3.4028234663852886e38);
      expect(decodeInput(typed[0], [[1e39, -1e300]]).data).toEqual(new Float64Array([1e39, -1e300]));
      expect(errorOf(() => decodeInput(typed[0], [[JSON.parse('1e400'), 1]])).message).toMatch(/expected numbers, got the number Infinity, beyond float64's range \(±1.8e308\) at \[0\]\[0\]/);
    });

    it('accepts null as NaN for MLflow data frames only', () => {
      const t = decodeInput(features, [[1, 2, 3, 4, 5, null]], { nullAsNaN: true });
      expect(Number.isNaN((t.data as Float32Array)[5])).toBe(true);
    });
  });

  describe('encoding', () => {
    it('nests values by dims and keeps int64 exact', () => {
      expect(toNested({ type: 'float32', dims: [2, 1], data: new Float32Array([142.5, 3]) })).toEqual([[142.5], [3]]);
      expect(toNested({ type: 'int64', dims: [2], data: new BigInt64Array([5n, 2n ** 60n]) })).toEqual([5, '1152921504606846976']);
      expect(toNested({ type: 'bool', dims: [1, 2], data: new Uint8Array([1, 0]) })).toEqual([[true, false]]);
      expect(toNested({ type: 'int32', dims: [1, 2, 2], data: new Int32Array([1, 2, 3, 4]) })).toEqual([[[1, 2], [3, 4]]]);
      expect(toNested({ type: 'float64', dims: [], data: new Float64Array([7]) })).toBe(7);
    });

    it('flattens row-major and reads single rows', () => {
      const t = { type: 'int32', dims: [2, 2], data: new Int32Array([1, 2, 3, 4]) };
      expect(toFlat(t)).toEqual([1, 2, 3, 4]);
      expect(rowOf(t, 1)).toEqual([3, 4]);
      expect(rowOf({ type: 'float32', dims: [2, 1], data: new Float32Array([5, 6]) }, 1)).toBe(6);
    });

    it('names datatypes as the Open Inference Protocol does', () => {
      expect(['float32', 'float64', 'int64', 'int32', 'bool', 'string'].map(oipDatatypeOf)).toEqual(['FP32', 'FP64', 'INT64', 'INT32', 'BOOL', 'BYTES']);
    });
  });
});
