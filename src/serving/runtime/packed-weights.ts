import { fields, intField, intFields, onlyField, stringField, stringFields } from '../../registry/artifact/onnx-wire';

/** TensorProto.data_type of float32: the weights onnxruntime's CPU matrix multiply packs. */
const FLOAT = 1;
/** onnxruntime's packed matrix-multiply weights hold their columns in panels of this many. */
const PANEL_COLUMNS = 16;

/** A constant float32 tensor known by its dims (an initializer, or what onnxruntime folds into one). */
interface Constant {
  dims: number[];
  /** Its name when several nodes may use it: each weight is packed once. */
  source: string;
}

/**
 * Memory a session holds beyond "twice its file" (session-footprint.ts): onnxruntime packs the
 * float weight of each MatMul and Gemm, `[K, N]`, into panels of 16 columns, so a weight with few
 * columns grows: an MLP's last layer `[H, 1]` takes 16 times its bytes (measured with
 * onnxruntime-node 1.30: an MLP 6→16,384→1, 0.5 MB, held 1.8 MiB where twice its file is 1 MiB;
 * this adds the 0.9 MiB of padding). A weight counts when it is constant: a float initializer
 * that is not also a graph input (those can be overridden at run time, so are not packed), a
 * Constant node, or a Transpose, Cast to float or Identity of one (onnxruntime folds them into an
 * initializer first); each once, however many nodes use it. Read from the graph when a file is
 * first located (session-footprint.ts) and again as the worker loads it (no weight is decoded);
 * 0 for a graph it cannot read (the estimate stands as it was).
 */
export function packedWeightPaddingBytes(model: Uint8Array): number {
  try {
    const graph = onlyField(model, 7);
    if (!graph) return 0;
    const overridable = new Set(fields(graph, 11).map((input) => stringField(input, 1)));
    // Constants by name: float ones (packable), and any other type (which a Cast may make float).
    const constants: Record<'float' | 'other', Map<string, Constant>> = { float: new Map(), other: new Map() };
    for (const tensor of fields(graph, 5)) {
      const name = stringField(tensor, 8);
      if (!overridable.has(name)) constants[intField(tensor, 2) === FLOAT ? 'float' : 'other'].set(name, { dims: intFields(tensor, 1), source: name });
    }
    const packed = new Set<string>();
    let padding = 0;
    for (const node of fields(graph, 1)) {
      const domain = stringField(node, 7);
      if (domain !== '' && domain !== 'ai.onnx') continue;
      const op = stringField(node, 4);
      const inputs = stringFields(node, 1);
      const output = stringFields(node, 2)[0];
      const folded = output === undefined ? undefined : foldedConstant(op, node, inputs, output, constants);
      if (folded) constants.float.set(output, folded);
      if (op !== 'MatMul' && op !== 'Gemm') continue;
      const weight = constants.float.get(inputs[1] ?? '');
      if (weight?.dims.length !== 2 || packed.has(weight.source)) continue;
      packed.add(weight.source);
      const [k, n] = op === 'Gemm' && intAttribute(node, 'transB') ? [weight.dims[1], weight.dims[0]] : weight.dims;
      padding += k * (Math.ceil(n / PANEL_COLUMNS) * PANEL_COLUMNS - n) * 4;
    }
    return padding;
  } catch {
    return 0;
  }
}

/** The constant float tensor a node makes from constants (what onnxruntime's constant folding turns into an initializer), if any. */
function foldedConstant(op: string, node: Uint8Array, inputs: string[], output: string, constants: Record<'float' | 'other', Map<string, Constant>>): Constant | undefined {
  if (op === 'Constant') {
    const value = attribute(node, 'value');
    const tensor = value && onlyField(value, 5);
    return tensor && intField(tensor, 2) === FLOAT ? { dims: intFields(tensor, 1), source: output } : undefined;
  }
  const input = inputs[0] ?? '';
  if (op === 'Cast') {
    const from = constants.float.get(input) ?? constants.other.get(input);
    return from && intAttribute(node, 'to') === FLOAT ? { dims: from.dims, source: output } : undefined;
  }
  const from = constants.float.get(input);
  if (!from) return undefined;
  if (op === 'Identity') return from;
  if (op === 'Transpose') {
    const perm = attribute(node, 'perm');
    const order = perm ? intFields(perm, 8) : from.dims.map((_, i) => from.dims.length - 1 - i);
    return { dims: order.map((axis) => from.dims[axis]), source: output };
  }
  return undefined;
}

function attribute(node: Uint8Array, name: string): Uint8Array | undefined {
  return fields(node, 5).find((a) => stringField(a, 1) === name);
}

/** An integer attribute, 0 when absent. */
function intAttribute(node: Uint8Array, name: string): number {
  const found = attribute(node, name);
  return found ? (intField(found, 3) ?? 0) : 0;
}
