import { fields, intField, intFields, onlyField, stringField, stringFields } from '../../registry/artifact/onnx-wire';

/**
 * Whether an ONNX graph computes each row of its outputs from the same row of its inputs alone,
 * read from the graph itself: the condition for merging requests into one call and cutting a big
 * one into chunks. The experiment in row-independence.ts cannot prove it on its own: a model
 * whose rows meet only sometimes (`y = x + relu(sum(x over the rows) - 1000)`) passes it on two
 * small rows and then answers merged requests wrongly. This follows axis 0 of the inputs (the
 * rows) through every node and accepts only operators known to keep rows apart, with the
 * attributes that do (a reduction, softmax, concat... over another axis; a MatMul/Gemm whose
 * other operand is a constant; a Reshape that keeps the first dimension, also as the row count
 * read by Shape; the ai.onnx.ml models and transforms on [N, F], which work row by row). Anything
 * else that the outputs depend on (an operator not listed, a reduction over the rows, the row
 * count in a computation, subgraphs, other domains, a file whose fields protobuf would read
 * otherwise than this reader) makes the graph not row-wise: it is then never merged or chunked
 * (correct, only slower).
 */
export type RowWiseVerdict = { rowWise: true } | { rowWise: false; reason: string };

/**
 * What is known of a tensor: independent of the inputs; rows along axis 0 (its first dimension is
 * the call's row count N, and each row depends on the same row of the inputs alone); the row
 * count itself (`count`: N as a scalar), or a shape vector whose first element is N and the rest
 * constant (`shape`: what `Shape` of the rows gives, the dynamic-batch reshape PyTorch exports
 * for `x.view(x.size(0), -1)`); or mixing rows (and why).
 */
type Flow =
  | { kind: 'const'; rank?: number; firstDim?: number; ints?: number[] }
  | { kind: 'rows'; rank?: number }
  | { kind: 'count' }
  | { kind: 'shape'; length?: number }
  | { kind: 'mixed'; reason: string };
type Rows = Extract<Flow, { kind: 'rows' }>;

interface Node {
  op: string;
  domain: string;
  name: string;
  inputs: Array<Flow | undefined>;
  outputs: string[];
  attributes: Map<string, Uint8Array>;
  opset: number;
}

/** ONNX TensorProto data types whose values this reads (shapes, axes, indices). */
const INT32 = 6;
const INT64 = 7;
/** TensorProto.data_location of values in another file. */
const EXTERNAL = 1;
/** Integer constants longer than this are not read (shapes and axes are short). */
const MAX_INTS = 64;

export function rowWiseVerdict(model: Uint8Array): RowWiseVerdict {
  try {
    const graph = onlyField(model, 7);
    if (!graph) return { rowWise: false, reason: 'the file holds no graph' };
    return verdictOf(graph, defaultOpset(model));
  } catch (error) {
    return { rowWise: false, reason: `the graph could not be read (${(error as Error).message})` };
  }
}

function verdictOf(graph: Uint8Array, opset: number): RowWiseVerdict {
  const flows = new Map<string, Flow>();
  for (const tensor of fields(graph, 5)) flows.set(stringField(tensor, 8), constantOf(tensor));
  for (const input of fields(graph, 11)) {
    const name = stringField(input, 1);
    if (!flows.has(name)) flows.set(name, { kind: 'rows', rank: rankOf(input) });
  }
  for (const bytes of fields(graph, 1)) {
    const op = stringField(bytes, 4);
    const name = stringField(bytes, 3) || op;
    const inputs = stringFields(bytes, 1).map((input) => {
      if (input === '') return undefined; // an optional input left out
      const flow = flows.get(input);
      if (!flow) throw new Error(`node '${name}' reads '${input}', which nothing before it makes`);
      return flow;
    });
    const attributes = new Map<string, Uint8Array>();
    for (const a of fields(bytes, 5)) {
      const attribute = stringField(a, 1);
      if (attributes.has(attribute)) throw new Error(`node '${name}' has attribute '${attribute}' twice`);
      attributes.set(attribute, a);
    }
    const node: Node = { op, domain: stringField(bytes, 7), name, inputs, outputs: stringFields(bytes, 2), attributes, opset };
    const out = flowsOut(node);
    node.outputs.forEach((output, i) => flows.set(output, out[i] ?? out[out.length - 1]));
  }
  for (const output of fields(graph, 12)) {
    if (!isTensor(output)) continue; // a ZipMap's maps are not fetched
    const flow = flows.get(stringField(output, 1));
    if (flow?.kind === 'mixed') return { rowWise: false, reason: flow.reason };
    if (flow?.kind !== 'rows') return { rowWise: false, reason: `output '${stringField(output, 1)}' does not follow the rows` };
  }
  return { rowWise: true };
}

/** The flows of a node's outputs (the last one stands for any further outputs). */
function flowsOut(node: Node): Flow[] {
  const mixed = node.inputs.find((f): f is Extract<Flow, { kind: 'mixed' }> => f?.kind === 'mixed');
  if (mixed) return [mixed];
  // A subgraph (If, Loop, Scan) may read any tensor of the graph around it, whatever its inputs.
  if (hasSubgraph(node)) return [mixes(node, 'it runs a subgraph')];
  if (node.inputs.some((f) => f?.kind === 'count' || f?.kind === 'shape')) {
    const rule = isDefaultDomain(node.domain) ? ROW_COUNT_RULES[node.op] : undefined;
    return rule?.(node) ?? [mixes(node, 'it computes with the number of rows')];
  }
  if (!node.inputs.some((f) => f?.kind === 'rows')) return [constantOut(node)];
  const rule = isDefaultDomain(node.domain) ? ONNX_RULES[node.op] : node.domain === 'ai.onnx.ml' ? ML_RULES[node.op] : undefined;
  if (!rule) return [mixes(node, `its operator ${node.domain ? `${node.domain}.` : ''}${node.op} is not known to keep rows apart`)];
  return rule(node);
}

type Rule = (node: Node) => Flow[];

/** A node of constants only: a constant, of the same rank when it is elementwise on one input (a Cast of a shape). */
function constantOut(node: Node): Flow {
  if (!isDefaultDomain(node.domain)) return { kind: 'const' };
  if (node.op === 'Constant') return constantNode(node);
  const [only] = node.inputs;
  return node.inputs.length === 1 && only?.kind === 'const' && ONNX_RULES[node.op] === sameRows ? { kind: 'const', rank: only.rank } : { kind: 'const' };
}

function mixes(node: Node, why: string): Flow {
  return { kind: 'mixed', reason: `node '${node.name}' (${node.op}) may mix rows: ${why}` };
}

/** The first input, when it is the rows and every other input is constant (weights, axes, bounds). */
function rowsThenConstants(node: Node): Rows | undefined {
  const [first, ...rest] = node.inputs;
  if (first?.kind !== 'rows' || rest.some((f) => f?.kind === 'rows')) return undefined;
  return first;
}

/** Elementwise on its first input: the same rows, the same rank. */
const sameRows: Rule = (node) => {
  const rows = rowsThenConstants(node);
  return [rows ?? mixes(node, 'an input other than the first depends on the rows')];
};

/** Broadcasting operators: the rows stay on axis 0 when every row input has the same rank and no constant a higher one. */
const broadcast: Rule = (node) => {
  const present = node.inputs.filter((f): f is Flow => f !== undefined);
  const ranks = new Set(present.filter((f) => f.kind === 'rows').map((f) => f.rank));
  const [rank] = ranks;
  if (ranks.size !== 1 || rank === undefined) return [mixes(node, 'its row inputs are not of one known rank')];
  if (present.some((f) => f.kind === 'const' && (f.rank === undefined || f.rank > rank))) return [mixes(node, 'a constant of a higher or unknown rank would move the rows off axis 0')];
  // One of the same rank lines up with the rows: unless its first dimension is 1, a call's answer depends on its row count.
  if (present.some((f) => f.kind === 'const' && f.rank === rank && f.firstDim !== 1)) return [mixes(node, 'a constant lines up with the rows (its first dimension is not 1)')];
  return [{ kind: 'rows', rank }];
};

/** Whether `axis` (negative counts from the end) is the rows' axis; undefined when it cannot be told. */
function isRowAxis(axis: number, rank: number | undefined): boolean | undefined {
  if (axis >= 0) return axis === 0;
  return rank === undefined ? undefined : axis + rank === 0;
}

/**
 * Operators that work along one axis (attribute `axis`, or the constant input `axisInput`):
 * row-wise unless it is axis 0; the output has the input's rank unless `rankOut` says otherwise.
 */
function alongAxis(defaultAxis: (node: Node) => number, { rankOut = (rank) => rank, axisInput }: { rankOut?: (rank: number | undefined, node: Node) => number | undefined; axisInput?: number } = {}): Rule {
  return (node) => {
    const rows = rowsThenConstants(node);
    if (!rows) return [mixes(node, 'an input other than the first depends on the rows')];
    const axis = axisInput !== undefined && node.inputs[axisInput] ? constInts(node.inputs[axisInput])?.[0] : intAttribute(node, 'axis') ?? defaultAxis(node);
    if (axis === undefined) return [mixes(node, 'its axis is not a constant')];
    const onRows = isRowAxis(axis, rows.rank);
    if (onRows !== false) return [mixes(node, onRows ? 'it works along the rows (axis 0)' : 'its axis cannot be told apart from the rows (rank unknown)')];
    return [{ kind: 'rows', rank: rankOut(rows.rank, node) }];
  };
}

/** Operators over a list of axes (attribute `axes`, or input `axesInput`). */
function overAxes(kind: 'reduce' | 'squeeze' | 'unsqueeze' | 'slice'): Rule {
  return (node) => {
    const rows = node.inputs[0];
    if (rows?.kind !== 'rows' || node.inputs.slice(1).some((f) => f?.kind === 'rows')) return [mixes(node, 'an input other than the first depends on the rows')];
    const axesInput = kind === 'slice' ? 3 : 1;
    const axesGiven = node.attributes.has('axes') || node.inputs[axesInput] !== undefined;
    const axes = intsAttribute(node, 'axes') ?? (node.inputs[axesInput] ? constInts(node.inputs[axesInput]) : []);
    if (axesGiven && axes === undefined) return [mixes(node, 'its axes are not constant')];
    if (axes === undefined || axes.length === 0) {
      // No axes (absent or empty) means every axis: a reduction over the rows too, a Squeeze of a single row.
      if (kind === 'reduce' && intAttribute(node, 'noop_with_empty_axes') === 1) return [rows];
      return [mixes(node, 'without axes it works over every axis, the rows included')];
    }
    const outRank = rows.rank === undefined ? undefined : kind === 'unsqueeze' ? rows.rank + axes.length : rows.rank;
    if (axes.some((axis) => isRowAxis(axis, outRank) !== false)) return [mixes(node, 'its axes include the rows (axis 0), or cannot be told apart from them')];
    // An axis named twice (1 and -2 of a rank-2 tensor) would make the rank below wrong: onnxruntime counts it once.
    const distinct = new Set(axes.map((axis) => (axis < 0 && outRank !== undefined ? axis + outRank : axis)));
    if (distinct.size !== axes.length) return [mixes(node, 'its axes repeat')];
    const keeps = kind === 'reduce' ? intAttribute(node, 'keepdims') !== 0 : kind !== 'squeeze';
    return [{ kind: 'rows', rank: rows.rank === undefined ? undefined : kind === 'unsqueeze' ? outRank : keeps ? rows.rank : rows.rank - axes.length }];
  };
}

const matMul: Rule = (node) => {
  const [a, b] = node.inputs;
  if (a?.kind !== 'rows' || b?.kind !== 'const') return [mixes(node, 'its second operand depends on the rows')];
  if (a.rank === undefined || a.rank < 2 || b.rank !== 2) return [mixes(node, 'its operands are not [rows, k] × a constant matrix')];
  return [{ kind: 'rows', rank: a.rank }];
};

const gemm: Rule = (node) => {
  const rows = rowsThenConstants(node);
  if (!rows || intAttribute(node, 'transA') === 1) return [mixes(node, 'only A, not transposed, may depend on the rows')];
  return [{ kind: 'rows', rank: 2 }];
};

const concat: Rule = (node) => {
  const axis = intAttribute(node, 'axis');
  const rows = node.inputs.filter((f): f is Rows => f?.kind === 'rows');
  const rank = rows[0].rank;
  if (axis === undefined || isRowAxis(axis, rank) !== false) return [mixes(node, 'it joins along the rows, or along an axis that cannot be told apart from them')];
  return [{ kind: 'rows', rank }];
};

const reshape: Rule = (node) => {
  const rows = rowsThenConstants(node);
  const shape = node.inputs[1] ? constInts(node.inputs[1]) : intsAttribute(node, 'shape');
  // 0 copies the input's first dimension (unless allowzero): the rows stay as they are.
  if (!rows || !shape || shape[0] !== 0 || intAttribute(node, 'allowzero') === 1) return [mixes(node, 'its new shape does not keep the first dimension (0)')];
  return [{ kind: 'rows', rank: shape.length }];
};

const transpose: Rule = (node) => {
  const rows = rowsThenConstants(node);
  const perm = intsAttribute(node, 'perm');
  if (!rows || (perm ? perm[0] !== 0 : rows.rank !== 1)) return [mixes(node, 'it moves the rows off axis 0')];
  return [rows];
};

const gather: Rule = (node) => {
  const [data, indices] = node.inputs;
  const axis = intAttribute(node, 'axis') ?? 0;
  if (data?.kind === 'const' && indices?.kind === 'rows') {
    // A lookup: each row of indices picks from a constant table, along its first axis.
    if (axis !== 0 && isRowAxis(axis, data.rank) !== true) return [mixes(node, 'it looks up along another axis than the table\'s first')];
    return [{ kind: 'rows', rank: gatheredRank(data.rank, indices.rank) }];
  }
  if (data?.kind === 'rows' && indices?.kind === 'const') {
    if (isRowAxis(axis, data.rank) !== false) return [mixes(node, 'it picks rows')];
    return [{ kind: 'rows', rank: gatheredRank(data.rank, indices.rank) }];
  }
  return [mixes(node, 'both its data and its indices depend on the rows')];
};

/** Gather's output rank: the data's, its gathered axis replaced by the indices' dimensions. */
function gatheredRank(data: number | undefined, indices: number | undefined): number | undefined {
  return data === undefined || indices === undefined ? undefined : data + indices - 1;
}

const flatten: Rule = (node) => {
  const rows = rowsThenConstants(node);
  const axis = intAttribute(node, 'axis') ?? 1;
  // Axis 1 keeps [N, rest]; another axis folds the rows together (0) or into more rows (2, 3...).
  if (!rows || (axis !== 1 && (rows.rank === undefined || axis + rows.rank !== 1))) return [mixes(node, 'it does not flatten to [rows, features] (axis 1)')];
  return [{ kind: 'rows', rank: 2 }];
};

/** `Shape` of the rows: the row count first (a new shape that keeps the rows), or only the constant dimensions after it. */
const shapeOf: Rule = (node) => {
  const rows = rowsThenConstants(node);
  if (!rows) return [mixes(node, 'it reads the shape of the rows')];
  const start = intAttribute(node, 'start') ?? 0;
  const end = intAttribute(node, 'end');
  const rank = rows.rank;
  const from = start < 0 && rank !== undefined ? Math.max(0, start + rank) : start;
  if (from > 0) return [{ kind: 'const', rank: 1 }]; // the other dimensions are the same alone and merged
  if (from < 0) return [mixes(node, 'its start cannot be told apart from the rows (rank unknown)')];
  // onnxruntime clamps end into [0, rank]: from 0 the vector holds the row count unless it is empty.
  if (end === undefined) return [{ kind: 'shape', length: rank }];
  if (rank === undefined) return end > 0 ? [{ kind: 'shape' }] : [mixes(node, 'its end cannot be told apart from the rows (rank unknown)')];
  const to = Math.min(rank, Math.max(0, end < 0 ? end + rank : end));
  return [to === 0 ? { kind: 'const', rank: 1 } : { kind: 'shape', length: to }];
};

/** Integer types that hold any row count: a cast to another (bool, uint8, float16...) changes it. */
const COUNT_TYPES = new Set([INT32, INT64]);

/**
 * Nodes that take the row count or a shape vector starting with it: picking it out, turning it
 * back into a vector, appending constants, casting it, and using it as the new shape of the rows
 * (Reshape) or of a constant per row (ConstantOfShape). Undefined: the node does something else
 * with it (a mean dividing by N), which mixes rows.
 */
const ROW_COUNT_RULES: Record<string, (node: Node) => Flow[] | undefined> = {
  Cast: (node) => (COUNT_TYPES.has(intAttribute(node, 'to') ?? -1) ? [node.inputs[0]!] : undefined),
  Identity: (node) => [node.inputs[0]!],
  Gather: (node) => {
    const [shape, indices] = node.inputs;
    const at = constInts(indices);
    if (shape?.kind !== 'shape' || indices?.kind !== 'const' || !at || at.length !== 1 || (intAttribute(node, 'axis') ?? 0) !== 0) return undefined;
    const index = at[0] < 0 && shape.length !== undefined ? at[0] + shape.length : at[0];
    if (index !== 0) return index > 0 ? [{ kind: 'const', rank: indices.rank }] : undefined;
    return [indices.rank === 0 ? { kind: 'count' } : { kind: 'shape', length: 1 }];
  },
  Unsqueeze: (node) => {
    const axes = intsAttribute(node, 'axes') ?? constInts(node.inputs[1]);
    return node.inputs[0]?.kind === 'count' && axes?.length === 1 && (axes[0] === 0 || axes[0] === -1) ? [{ kind: 'shape', length: 1 }] : undefined;
  },
  Squeeze: (node) => {
    const shape = node.inputs[0];
    return shape?.kind === 'shape' && shape.length === 1 ? [{ kind: 'count' }] : undefined;
  },
  Concat: (node) => {
    const [first, ...rest] = node.inputs;
    if (first?.kind !== 'shape' || intAttribute(node, 'axis') !== 0 || !rest.every((f) => f?.kind === 'const' && f.rank === 1)) return undefined;
    const lengths = rest.map((f) => constInts(f)?.length);
    const length = first.length !== undefined && lengths.every((n) => n !== undefined) ? first.length + lengths.reduce((a, b) => a! + b!, 0)! : undefined;
    return [{ kind: 'shape', length }];
  },
  Slice: (node) => {
    const [shape, starts, ends, axes, steps] = node.inputs;
    const [from, to, axis, step] = [constInts(starts), constInts(ends), axes ? constInts(axes) : [0], steps ? constInts(steps) : [1]];
    if (shape?.kind !== 'shape' || !from || !to || from.length !== 1 || axis?.[0] !== 0 || step?.[0] !== 1 || from[0] !== 0 || to[0] < 1) return undefined;
    return [{ kind: 'shape', length: shape.length === undefined ? undefined : Math.min(to[0], shape.length) }];
  },
  Reshape: (node) => {
    const [data, shape] = node.inputs;
    return data?.kind === 'rows' && shape?.kind === 'shape' ? [{ kind: 'rows', rank: shape.length }] : undefined;
  },
  ConstantOfShape: (node) => {
    const shape = node.inputs[0];
    return shape?.kind === 'shape' ? [{ kind: 'rows', rank: shape.length }] : undefined;
  },
};

/**
 * An ai.onnx.ml operator on the rows (first input) whose outputs have these ranks. Those that take
 * a [N, F] matrix treat a rank-1 input as one sample of N features (a Normalizer would normalise
 * across the rows): they need a known rank of at least 2, unless elementwise.
 */
function withRanks(...ranks: Array<number | 'same' | 'plus-one' | 'elementwise'>): Rule {
  return (node) => {
    const rows = rowsThenConstants(node);
    if (!rows) return [mixes(node, 'an input other than the first depends on the rows')];
    if (!ranks.includes('elementwise') && (rows.rank === undefined || rows.rank < 2)) return [mixes(node, 'it takes a rank-1 (or unknown-rank) input as one sample')];
    return ranks.map((r) => ({ kind: 'rows', rank: r === 'same' || r === 'elementwise' ? rows.rank : r === 'plus-one' ? (rows.rank === undefined ? undefined : rows.rank + 1) : r }));
  };
}

const softmaxAxis = (node: Node) => (node.opset >= 13 ? -1 : 1);
/** An ArgMax/ArgMin's rank: its input's, less the axis unless keepdims (default 1). */
const keptRank = (rank: number | undefined, node: Node) => (rank === undefined || intAttribute(node, 'keepdims') !== 0 ? rank : rank - 1);
const ONNX_RULES: Record<string, Rule> = {
  ...Object.fromEntries(
    'Abs Acos Acosh Asin Asinh Atan Atanh BitwiseNot Cast Ceil Celu Clip Cos Cosh Dropout Elu Erf Exp Floor Gelu HardSigmoid HardSwish Identity IsInf IsNaN LeakyRelu Log Mish Neg Not Reciprocal Relu Round Selu Shrink Sigmoid Sign Sin Sinh Softplus Softsign Sqrt Tan Tanh ThresholdedRelu'
      .split(' ')
      .map((op) => [op, sameRows]),
  ),
  ...Object.fromEntries(
    'Add And BitShift BitwiseAnd BitwiseOr BitwiseXor Div Equal Greater GreaterOrEqual Less LessOrEqual Max Mean Min Mod Mul Or Pow PRelu Sub Sum Where Xor'
      .split(' ')
      .map((op) => [op, broadcast]),
  ),
  // Per sample ([N, C, ...]), weights constant.
  ...Object.fromEntries('AveragePool Conv ConvTranspose GlobalAveragePool GlobalLpPool GlobalMaxPool GroupNormalization InstanceNormalization LpPool LRN'.split(' ').map((op) => [op, sameRows])),
  // Its second output (indices) counts across the whole batch.
  MaxPool: (node) => [sameRows(node)[0], mixes(node, 'its indices count across the rows')],
  // Its extra outputs (running statistics) exist only in training mode, which uses the batch's statistics.
  BatchNormalization: (node) => (intAttribute(node, 'training_mode') === 1 || node.outputs.filter(Boolean).length > 1 ? [mixes(node, 'in training mode it uses the batch\'s statistics')] : sameRows(node)),
  LayerNormalization: alongAxis(() => -1),
  Softmax: alongAxis(softmaxAxis),
  LogSoftmax: alongAxis(softmaxAxis),
  Hardmax: alongAxis(softmaxAxis),
  ArgMax: alongAxis(() => 0, { rankOut: keptRank }),
  ArgMin: alongAxis(() => 0, { rankOut: keptRank }),
  TopK: alongAxis(() => -1),
  Split: alongAxis(() => 0),
  CumSum: alongAxis(() => 0, { axisInput: 1 }),
  ...Object.fromEntries('ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare'.split(' ').map((op) => [op, overAxes('reduce')])),
  Squeeze: overAxes('squeeze'),
  Unsqueeze: overAxes('unsqueeze'),
  Slice: overAxes('slice'),
  MatMul: matMul,
  Gemm: gemm,
  Concat: concat,
  Reshape: reshape,
  Transpose: transpose,
  Gather: gather,
  Flatten: flatten,
  Shape: shapeOf,
  // Its output is its first input, cast to the second's type: the second gives no shape.
  CastLike: (node) => [node.inputs[0]!],
};

/** The ai.onnx.ml operators work on [N, F] inputs row by row (their constants are attributes). */
const ML_RULES: Record<string, Rule> = {
  ...Object.fromEntries('Binarizer CategoryMapper LabelEncoder'.split(' ').map((op) => [op, withRanks('elementwise')])),
  ...Object.fromEntries('Imputer Normalizer Scaler'.split(' ').map((op) => [op, withRanks('same')])),
  OneHotEncoder: withRanks('plus-one'),
  ArrayFeatureExtractor: withRanks('same'),
  LinearRegressor: withRanks(2),
  SVMRegressor: withRanks(2),
  TreeEnsembleRegressor: withRanks(2),
  TreeEnsemble: withRanks(2),
  LinearClassifier: withRanks(1, 2),
  SVMClassifier: withRanks(1, 2),
  TreeEnsembleClassifier: withRanks(1, 2),
  ZipMap: withRanks('same'),
  FeatureVectorizer: (node) =>
    node.inputs.every((f) => f?.kind === 'rows' && f.rank !== undefined && f.rank >= 2) ? [{ kind: 'rows', rank: 2 }] : [mixes(node, 'an input that is constant or of rank 1 (one sample)')],
};

/** The default domain's operators with subgraphs; an operator of another domain is looked at (attributes g, graphs). */
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

function hasSubgraph(node: Node): boolean {
  if (isDefaultDomain(node.domain) || node.domain === 'ai.onnx.ml') return SUBGRAPH_OPS.has(node.op);
  return [...node.attributes.values()].some((a) => fields(a, 6).length > 0 || fields(a, 11).length > 0);
}

function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

function defaultOpset(model: Uint8Array): number {
  for (const opset of fields(model, 8)) if (isDefaultDomain(stringField(opset, 1))) return intField(opset, 2) ?? 1;
  return 1;
}

/** A graph input's rank, when its type declares a shape. */
function rankOf(valueInfo: Uint8Array): number | undefined {
  const type = onlyField(valueInfo, 2);
  const tensor = type && onlyField(type, 1);
  const shape = tensor && onlyField(tensor, 2);
  return shape ? fields(shape, 1).length : undefined;
}

function isTensor(valueInfo: Uint8Array): boolean {
  const type = onlyField(valueInfo, 2);
  return !type || onlyField(type, 1) !== undefined;
}

/** An initializer (a TensorProto): its rank, and its values when it is a short integer tensor. */
function constantOf(tensor: Uint8Array): Flow {
  const dims = intFields(tensor, 1);
  const type = intField(tensor, 2);
  const count = dims.reduce((n, d) => n * d, 1);
  // Values stored outside the file (data_location EXTERNAL) are not read.
  const known = { kind: 'const' as const, rank: dims.length, firstDim: dims[0] };
  if ((type !== INT64 && type !== INT32) || count > MAX_INTS || intField(tensor, 14) === EXTERNAL) return known;
  const raw = onlyField(tensor, 9);
  const size = type === INT64 ? 8 : 4;
  let ints: number[] | undefined;
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (raw.byteLength === count * size) ints = Array.from({ length: count }, (_, i) => (type === INT64 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
  } else ints = intFields(tensor, type === INT64 ? 7 : 5);
  // Values that do not fill the dims are not this tensor's values: unknown (a rule needing them refuses).
  return ints && ints.length === count ? { ...known, ints } : known;
}

/** A Constant node's value: a tensor (`value`), or integers (`value_int`, `value_ints`). */
function constantNode(node: Node): Flow {
  const value = node.attributes.get('value');
  const tensor = value && onlyField(value, 5);
  if (tensor) return constantOf(tensor);
  const ints = intsAttribute(node, 'value_ints');
  if (ints) return { kind: 'const', rank: 1, firstDim: ints.length, ints };
  const int = intAttribute(node, 'value_int');
  return int === undefined ? { kind: 'const' } : { kind: 'const', rank: 0, ints: [int] };
}

function constInts(flow: Flow | undefined): number[] | undefined {
  return flow?.kind === 'const' ? flow.ints : undefined;
}

/**
 * AttributeProto.i (3); undefined when the node does not set the attribute (its default then).
 * An attribute set without a value is refused: onnxruntime reads it as 0, not as the default.
 */
function intAttribute(node: Node, name: string): number | undefined {
  const attribute = node.attributes.get(name);
  if (!attribute) return undefined;
  const value = intField(attribute, 3);
  if (value === undefined) throw new Error(`node '${node.name}' sets attribute '${name}' without an integer`);
  return value;
}

/** AttributeProto.ints (8). */
function intsAttribute(node: Node, name: string): number[] | undefined {
  const attribute = node.attributes.get(name);
  return attribute ? intFields(attribute, 8) : undefined;
}
