import { fields } from './onnx-wire';

/**
 * Which graph inputs of an ONNX file are tensors declared without any shape (any rank goes).
 * onnxruntime's metadata reports such an input as shape [], as it does a scalar, so the
 * signature would say "rank 0" and every real request would be refused. This reads the
 * ModelProto's wire format just far enough to tell: ModelProto.graph (7) → GraphProto.input (11)
 * → ValueInfoProto.name (1) and .type (2) → TypeProto.tensor_type (1) → Tensor.shape (2).
 */
export function inputsWithoutShape(model: Uint8Array): string[] {
  const names: string[] = [];
  for (const graph of fields(model, 7)) {
    for (const input of fields(graph, 11)) {
      const name = Buffer.from(fields(input, 1)[0] ?? []).toString('utf8');
      for (const type of fields(input, 2)) {
        for (const tensor of fields(type, 1)) if (fields(tensor, 2).length === 0) names.push(name);
      }
    }
  }
  return names;
}
