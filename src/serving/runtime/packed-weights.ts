import { fields, intField, intFields, onlyField, stringField, stringFields } from '../../registry/artifact/onnx-wire';

/** TensorProto.data_type of float32: the weights onnxruntime's CPU matrix multiply packs. */
const FLOAT = 1;
/** onnxruntime's packed matrix-multiply weights hold their columns in panels of this many. */
const PANEL_COLUMNS = 16;

/**
 * Memory a session holds beyond "twice its file" (session-footprint.ts): onnxruntime packs the
 * float weight of each MatMul and Gemm, `[K, N]`, into panels of 16 columns, so a weight with few
 * columns grows: an MLP's last layer `[H, 1]` takes 16 times its bytes (measured with
 * onnxruntime-node 1.30: an MLP 6→16,384→1, 0.5 MB, held 1.8 MiB where twice its file is 1 MiB;
 * this adds the 0.9 MiB of padding). Read from the graph as the worker loads it (no weight is
 * decoded); 0 for a graph it cannot read (the estimate then stands as it was).
 */
export function packedWeightPaddingBytes(model: Uint8Array): number {
  try {
    const graph = onlyField(model, 7);
    if (!graph) return 0;
    const weights = new Map<string, number[]>();
    for (const tensor of fields(graph, 5)) if (intField(tensor, 2) === FLOAT) weights.set(stringField(tensor, 8), intFields(tensor, 1));
    let padding = 0;
    for (const node of fields(graph, 1)) {
      const op = stringField(node, 4);
      const domain = stringField(node, 7);
      if ((op !== 'MatMul' && op !== 'Gemm') || (domain !== '' && domain !== 'ai.onnx')) continue;
      const dims = weights.get(stringFields(node, 1)[1] ?? '');
      if (dims?.length !== 2) continue;
      const [k, n] = op === 'Gemm' && transposesB(node) ? [dims[1], dims[0]] : dims;
      padding += k * (Math.ceil(n / PANEL_COLUMNS) * PANEL_COLUMNS - n) * 4;
    }
    return padding;
  } catch {
    return 0;
  }
}

/** Gemm's `transB` attribute (0 when absent). */
function transposesB(node: Uint8Array): boolean {
  const attribute = fields(node, 5).find((a) => stringField(a, 1) === 'transB');
  return attribute !== undefined && (intField(attribute, 3) ?? 0) !== 0;
}
