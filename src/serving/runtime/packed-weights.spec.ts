import { buildLinearModel, buildMlpModel, buildTreeEnsembleModel, GraphSpec, onnxGraph } from '../../../test/fixtures/onnx-builder';
import { packedWeightPaddingBytes } from './packed-weights';

const { node, attr, floatTensor, int64Tensor } = onnxGraph;
const zeros = (n: number) => new Array<number>(n).fill(0);

function graph(nodes: GraphSpec['nodes'], initializers: GraphSpec['initializers']): Buffer {
  return onnxGraph.encode({ name: 'g', inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 6] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 1] }], initializers, nodes });
}

describe('packedWeightPaddingBytes', () => {
  it('counts the columns a MatMul weight is padded to, in panels of 16', () => {
    // W1 [6, 1024] needs none; W2 [1024, 1] is packed as [1024, 16]: 15 columns of 1024 floats.
    expect(packedWeightPaddingBytes(buildMlpModel({ nFeatures: 6, hidden: 1024 }).bytes)).toBe(1024 * 15 * 4);
    // W1 [6, 20] → 32 columns (12 more of 6 rows), W2 [20, 1] → 16 (15 more of 20 rows).
    expect(packedWeightPaddingBytes(buildMlpModel({ nFeatures: 6, hidden: 20 }).bytes)).toBe((6 * 12 + 20 * 15) * 4);
    expect(packedWeightPaddingBytes(buildLinearModel({ weights: [1, 2, 3], bias: 0 }).bytes)).toBe(3 * 15 * 4); // coef [3, 1]
  });

  it("reads Gemm's weight as [N, K] when transB is set", () => {
    const w = floatTensor('W', [1, 6], zeros(6)); // transB: K = 6, N = 1
    expect(packedWeightPaddingBytes(graph([node('Gemm', ['x', 'W'], ['y'], { attribute: [attr.int('transB', 1)] })], [w]))).toBe(6 * 15 * 4);
    const v = floatTensor('W', [6, 1], zeros(6)); // as stored: K = 6, N = 1
    expect(packedWeightPaddingBytes(graph([node('Gemm', ['x', 'W'], ['y'])], [v]))).toBe(6 * 15 * 4);
    expect(packedWeightPaddingBytes(graph([node('Gemm', ['x', 'W'], ['y'], { attribute: [attr.int('transB', 0)] })], [v]))).toBe(6 * 15 * 4);
  });

  it('counts nothing for weights onnxruntime does not pack: not float, not 2-D, not an initializer, other ops', () => {
    expect(packedWeightPaddingBytes(graph([node('MatMul', ['x', 'W'], ['y'])], [int64Tensor('W', [6, 1], zeros(6))]))).toBe(0);
    expect(packedWeightPaddingBytes(graph([node('MatMul', ['x', 'W'], ['y'])], [floatTensor('W', [1, 6, 1], zeros(6))]))).toBe(0);
    expect(packedWeightPaddingBytes(graph([node('MatMul', ['x', 'x'], ['y'])], []))).toBe(0);
    expect(packedWeightPaddingBytes(graph([node('Mul', ['x', 'W'], ['y'])], [floatTensor('W', [6, 1], zeros(6))]))).toBe(0);
    expect(packedWeightPaddingBytes(buildTreeEnsembleModel({ nFeatures: 3 }).bytes)).toBe(0);
  });

  it('counts weights onnxruntime folds into constants first: a Constant node, a Transpose, a Cast to float, an Identity', () => {
    const constant = node('Constant', [], ['W'], { attribute: [{ name: 'value', type: 4, t: floatTensor('value', [6, 1], zeros(6)) }] });
    expect(packedWeightPaddingBytes(graph([constant, node('MatMul', ['x', 'W'], ['y'])], []))).toBe(6 * 15 * 4);
    const transposed = [node('Transpose', ['Wt'], ['W']), node('MatMul', ['x', 'W'], ['y'])];
    expect(packedWeightPaddingBytes(graph(transposed, [floatTensor('Wt', [1, 6], zeros(6))]))).toBe(6 * 15 * 4); // reversed: [6, 1]
    const permuted = [node('Transpose', ['Wt'], ['W'], { attribute: [attr.ints('perm', [1, 0])] }), node('Identity', ['W'], ['W2']), node('MatMul', ['x', 'W2'], ['y'])];
    expect(packedWeightPaddingBytes(graph(permuted, [floatTensor('Wt', [1, 6], zeros(6))]))).toBe(6 * 15 * 4);
    const half = { name: 'Wh', dims: [6, 1], dataType: 10, rawData: Buffer.alloc(12) };
    const cast = [node('Cast', ['Wh'], ['W'], { attribute: [attr.int('to', 1)] }), node('MatMul', ['x', 'W'], ['y'])];
    expect(packedWeightPaddingBytes(graph(cast, [half]))).toBe(6 * 15 * 4);
    const toDouble = [node('Cast', ['Wh'], ['W'], { attribute: [attr.int('to', 11)] }), node('MatMul', ['x', 'W'], ['y'])];
    expect(packedWeightPaddingBytes(graph(toDouble, [half]))).toBe(0); // not float: not packed
  });

  it('counts a weight used by several nodes once, and none that is also a graph input (overridable, so not packed)', () => {
    const w = floatTensor('W', [6, 1], zeros(6));
    expect(packedWeightPaddingBytes(graph([node('MatMul', ['x', 'W'], ['a']), node('MatMul', ['x', 'W'], ['b']), node('Add', ['a', 'b'], ['y'])], [w]))).toBe(6 * 15 * 4);
    const overridable = onnxGraph.encode({
      name: 'g',
      inputs: [
        { name: 'x', dtype: 'float32', shape: ['N', 6] },
        { name: 'W', dtype: 'float32', shape: [6, 1] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 1] }],
      initializers: [w],
      nodes: [node('MatMul', ['x', 'W'], ['y'])],
    });
    expect(packedWeightPaddingBytes(overridable)).toBe(0);
  });

  it('answers 0 for bytes that hold no readable graph', () => {
    expect(packedWeightPaddingBytes(Buffer.from('not a model'))).toBe(0);
    expect(packedWeightPaddingBytes(Buffer.alloc(0))).toBe(0);
  });
});
