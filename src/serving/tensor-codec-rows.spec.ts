import type { TensorSpec } from '../registry/artifact/artifact.types';
import { decodeInputs } from './tensor-codec';

/** Which inputs must agree on their rows (see checkUnnamedRows): tables with an unnamed first dimension, nothing else. */
describe('rows of inputs with an unnamed first dimension', () => {
  const column = (name: string, type = 'float32'): TensorSpec => ({ name, type, shape: [null, 1] });

  it("refuses skl2onnx's [?, 1] columns of different lengths, naming the input", () => {
    expect(() => decodeInputs([column('store', 'string'), column('price')], { store: [['a']], price: [[1], [2]] })).toThrow("Input 'price' has 2 rows (dimension 0) but input 'store' has 1");
    expect(decodeInputs([column('store', 'string'), column('price')], { store: [['a'], ['b']], price: [[1], [2]] }).map((t) => t.dims)).toEqual([
      [2, 1],
      [2, 1],
    ]);
  });

  it('leaves rank-1 lists, differently named dimensions and a lone input free, as onnxruntime does', () => {
    const lists: TensorSpec[] = [
      { name: 'x', type: 'float32', shape: [null] },
      { name: 'q', type: 'float32', shape: [null] },
    ];
    expect(decodeInputs(lists, { x: [1, 2, 3], q: [0.5] }).map((t) => t.dims)).toEqual([[3], [1]]);
    expect(decodeInputs([column('x')], { x: [[1], [2], [3]] })[0].dims).toEqual([3, 1]);
    const mixed: TensorSpec[] = [column('x'), { name: 'q', type: 'float32', shape: [null] }];
    expect(decodeInputs(mixed, { x: [[1], [2]], q: [0.5] }).map((t) => t.dims)).toEqual([[2, 1], [1]]);
    const named: TensorSpec[] = [
      { name: 'a', type: 'float32', shape: ['unk__1', 1] },
      { name: 'b', type: 'float32', shape: ['unk__2', 1] },
    ];
    expect(decodeInputs(named, { a: [[1]], b: [[1], [2]] }).map((t) => t.dims)).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });
});
