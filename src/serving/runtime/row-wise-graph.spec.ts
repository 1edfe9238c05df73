import { onnx } from 'onnx-proto';
import {
  buildLookupModel,
  buildRowCenteringModel,
  buildRowThresholdModel,
  buildTypedModel,
  defaultFixtures,
  buildWideOutputModel,
  GraphSpec,
  onnxGraph,
} from '../../../test/fixtures/onnx-builder';
import { rowWiseVerdict } from './row-wise-graph';

const { node, attr, floatTensor, int64Tensor } = onnxGraph;

/** x float32 [N, 4] through `nodes` to y float32 [N, ...]. */
function graph(nodes: GraphSpec['nodes'], initializers: GraphSpec['initializers'] = [], extra: Partial<GraphSpec> = {}): Buffer {
  return onnxGraph.encode({
    name: 'g',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
    initializers,
    nodes,
    ...extra,
  });
}

/** v float32 [N] through `nodes` to y float32 [N]. */
function vectorGraph(nodes: GraphSpec['nodes']): Buffer {
  return onnxGraph.encode({ name: 'v', inputs: [{ name: 'v', dtype: 'float32', shape: ['N'] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N'] }], initializers: [], nodes, useMlDomain: true });
}

/** x reshaped by Concat(`count`, [-1]) where n1 = Shape(x, end), through `steps` to `count`. */
function viewGraph(steps: GraphSpec['nodes'], count: string, end: number): Buffer {
  return graph(
    [
      node('Shape', ['x'], ['n1'], { attribute: [attr.int('end', end)] }),
      ...steps,
      node('Concat', [count, 'minus1'], ['to'], { attribute: [attr.int('axis', 0)] }),
      node('Reshape', ['x', 'to'], ['y']),
    ],
    [int64Tensor('minus1', [1], [-1])],
  );
}

const verdict = (bytes: Uint8Array) => rowWiseVerdict(bytes);

describe('rowWiseVerdict', () => {
  it.each([
    ['linear (MatMul, Add)', defaultFixtures().linear.bytes],
    ['tree ensemble', defaultFixtures().tree.bytes],
    ['MLP (MatMul, Add, Relu)', defaultFixtures().mlp.bytes],
    ['typed (ReduceSum over axis 1 as an input, Mul, Not)', buildTypedModel().bytes],
    ['wide output', buildWideOutputModel({ width: 10 }).bytes],
    ['lookup (Gather from a constant table by the rows)', buildLookupModel([1, 2, 3])],
    ['softmax over the last axis (-1)', graph([node('Softmax', ['x'], ['y'], { attribute: [attr.int('axis', -1)] })])],
    ['reshape keeping the first dimension (0)', graph([node('Reshape', ['x', 'shape'], ['y'])], [int64Tensor('shape', [3], [0, 2, 2])])],
    ['transpose keeping axis 0', graph([node('Transpose', ['x'], ['y'], { attribute: [attr.ints('perm', [0, 1])] })])],
    ['concat along axis 1', graph([node('Concat', ['x', 'x'], ['y'], { attribute: [attr.int('axis', 1)] })])],
    ['a mixing branch that no output depends on', graph([node('Shape', ['x'], ['s']), node('Relu', ['x'], ['y'])])],
    [
      "PyTorch's x.view(x.size(0), -1): Shape, Gather 0, Unsqueeze, Concat, Reshape",
      graph(
        [
          node('Shape', ['x'], ['s']),
          node('Gather', ['s', 'zero'], ['n'], { attribute: [attr.int('axis', 0)] }),
          node('Unsqueeze', ['n', 'axis0'], ['n1']),
          node('Concat', ['n1', 'minus1'], ['to'], { attribute: [attr.int('axis', 0)] }),
          node('Reshape', ['x', 'to'], ['y']),
        ],
        [int64Tensor('zero', [], [0]), int64Tensor('axis0', [1], [0]), int64Tensor('minus1', [1], [-1])],
      ),
    ],
    ['Shape(end=1) of the rows as the first dimension of a reshape', viewGraph([], 'n1', 1)],
    ['a bias of the rows\' rank with a first dimension of 1', graph([node('Add', ['x', 'b'], ['y'])], [floatTensor('b', [1, 4], [1, 2, 3, 4])])],
    ['Shape(start=1) of the rows: constant dimensions', graph([node('Shape', ['x'], ['s'], { attribute: [attr.int('start', 1)] }), node('Cast', ['s'], ['f'], { attribute: [attr.int('to', 1)] }), node('Add', ['x', 'f'], ['y'])])],
    ['a reduction with noop_with_empty_axes and no axes: the identity', graph([node('ReduceSum', ['x'], ['y'], { attribute: [attr.int('noop_with_empty_axes', 1)] })])],
  ])('finds a graph row-wise: %s', (_name, bytes) => {
    expect(verdict(bytes)).toEqual({ rowWise: true });
  });

  it.each([
    ['a mean over the rows', buildRowCenteringModel(2).bytes, /ReduceMean/],
    ['a sum over the rows that matters only past a threshold', buildRowThresholdModel().bytes, /ReduceSum/],
    ['a reduction over axis -2 of a rank-2 tensor', graph([node('ReduceMean', ['x'], ['y'], { attribute: [attr.ints('axes', [-2])] })]), /ReduceMean/],
    ['a reduction over every axis', graph([node('ReduceMax', ['x'], ['y'])]), /every axis/],
    ['softmax over axis 0', graph([node('Softmax', ['x'], ['y'], { attribute: [attr.int('axis', 0)] })]), /axis 0/],
    ['a reshape to [-1, 8]', graph([node('Reshape', ['x', 'shape'], ['y'])], [int64Tensor('shape', [2], [-1, 8])]), /first dimension/],
    ['a transpose', graph([node('Transpose', ['x'], ['y'], { attribute: [attr.ints('perm', [1, 0])] })]), /off axis 0/],
    ['the rows as MatMul\'s second operand', graph([node('MatMul', ['w', 'x'], ['y'])], [floatTensor('w', [2, 2], [1, 0, 0, 1])]), /second operand/],
    ['a shape read from the rows', graph([node('Shape', ['x'], ['s']), node('Cast', ['s'], ['sf'], { attribute: [attr.int('to', 1)] }), node('Div', ['x', 'sf'], ['y'])]), /number of rows/],
    [
      'a division by the row count (a mean)',
      graph([node('Shape', ['x'], ['s']), node('Gather', ['s', 'zero'], ['n'], { attribute: [attr.int('axis', 0)] }), node('Cast', ['n'], ['nf'], { attribute: [attr.int('to', 1)] }), node('Div', ['x', 'nf'], ['y'])], [int64Tensor('zero', [], [0])]),
      /number of rows/,
    ],
    ['the row count as an output', graph([node('Shape', ['x'], ['y'])]), /does not follow the rows/],
    // Found by a second review: each took a vector for [N, ...] that is not.
    ['a reshape by a shape cast to bool and back (N becomes 1)', viewGraph([node('Cast', ['n1'], ['nb'], { attribute: [attr.int('to', 9)] }), node('Cast', ['nb'], ['n2'], { attribute: [attr.int('to', 7)] })], 'n2', 1), /number of rows/],
    ['a reshape by Shape(end=-3) of a rank-2 tensor (empty, not [N])', viewGraph([], 'n1', -3), /first dimension/],
    // And by a third: an attribute set without its value (onnxruntime reads 0, not the default), a constant lined up with the rows.
    ['a Flatten whose axis attribute has no value', graph([node('Flatten', ['x'], ['y'], { attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT }] })]), /without an integer/],
    ['a constant of the rows\' rank whose first dimension is 2', graph([node('Add', ['x', 'k'], ['y'])], [floatTensor('k', [2, 4], [0, 0, 0, 0, 0, 0, 0, 0])]), /lines up with the rows/],
    // And by a fourth: CastLike's output is its first input (here a constant of first dimension 2), not a broadcast.
    [
      'a constant cast like the rows, then added to them',
      graph([node('CastLike', ['c', 'x'], ['cl']), node('Reshape', ['cl', 'to'], ['k']), node('Add', ['x', 'k'], ['y'])], [floatTensor('c', [2], [0, 0]), int64Tensor('to', [2], [0, -1])]),
      /unknown rank/, // a constant again, whose reshape is not followed
    ],
    ['a reduction naming one axis twice (1 and -1 of a rank-2 tensor)', graph([node('ReduceSum', ['x', 'twice'], ['y'], { attribute: [attr.int('keepdims', 0)] })], [int64Tensor('twice', [2], [1, -1])]), /repeat/],
    ['a flatten that folds features into rows (axis 2 of [N, 2, 2])', graph([node('Reshape', ['x', 'to'], ['r']), node('Flatten', ['r'], ['y'], { attribute: [attr.int('axis', 2)] })], [int64Tensor('to', [3], [0, 2, 2])]), /axis 1/],
    ['an operator of another domain', graph([node('FusedMatMul', ['x', 'x'], ['y'], { domain: 'com.microsoft' })]), /com\.microsoft\.FusedMatMul/],
    ['an operator not listed', graph([node('Expand', ['x', 'shape'], ['y'])], [int64Tensor('shape', [2], [1, 4])]), /Expand/],
    ['a batch-wide Gather', graph([node('Gather', ['x', 'i'], ['y'], { attribute: [attr.int('axis', 0)] })], [int64Tensor('i', [1], [0])]), /picks rows/],
    ['an output that is a constant', graph([node('Identity', ['w'], ['y'])], [floatTensor('w', [1, 4], [1, 2, 3, 4])]), /does not follow the rows/],
    // Found by a review: empty axes mean every axis (rows too), not none.
    ['a reduction over empty axes', graph([node('ReduceSum', ['x', 'none'], ['y'])], [int64Tensor('none', [0], [])]), /every axis/],
    ['a squeeze over empty axes (the rows of a single-row call)', graph([node('Squeeze', ['x', 'none'], ['y'])], [int64Tensor('none', [0], [])]), /every axis/],
    ['an ai.onnx.ml transform of a rank-1 input (one sample of N features)', vectorGraph([node('Normalizer', ['v'], ['y'], { domain: 'ai.onnx.ml', attribute: [attr.string('norm', 'L1')] })]), /rank-1/],
    ['a file that writes its graph twice (protobuf would merge them)', Buffer.concat([defaultFixtures().linear.bytes, defaultFixtures().linear.bytes]), /written 2 times/],
  ])('finds a graph not row-wise: %s', (_name, bytes, reason) => {
    const found = verdict(bytes);
    expect(found.rowWise).toBe(false);
    expect(found).toMatchObject({ reason: expect.stringMatching(reason) });
  });

  it('refuses a subgraph, which may read the rows from outside its inputs', () => {
    const branch: onnx.IGraphProto = { name: 'b', node: [node('Identity', ['x'], ['out'])], output: [{ name: 'out', type: { tensorType: { elemType: 1 } } }] };
    const bytes = graph(
      [node('If', ['cond'], ['y'], { attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch }, { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch }] })],
      [{ name: 'cond', dims: [], dataType: onnx.TensorProto.DataType.BOOL, int32Data: [1] }],
    );
    expect(verdict(bytes)).toMatchObject({ rowWise: false, reason: expect.stringContaining('subgraph') });
  });

  it('says why it cannot read a file that is not a model', () => {
    expect(verdict(Buffer.from('not an onnx file at all, just text'))).toMatchObject({ rowWise: false });
    expect(verdict(Buffer.alloc(0))).toEqual({ rowWise: false, reason: 'the file holds no graph' });
  });
});
