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

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** The length-delimited fields numbered `wanted` in one message, as views. */
function fields(message: Uint8Array, wanted: number): Uint8Array[] {
  const found: Uint8Array[] = [];
  let at = 0;
  while (at < message.length) {
    const [key, afterKey] = varint(message, at);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    at = afterKey;
    if (wireType === VARINT) at = varint(message, at)[1];
    else if (wireType === FIXED64) at += 8;
    else if (wireType === FIXED32) at += 4;
    else if (wireType === LENGTH_DELIMITED) {
      const [length, start] = varint(message, at);
      at = start + length;
      if (at > message.length) throw new Error('truncated ONNX message');
      if (field === wanted) found.push(message.subarray(start, at));
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
  return found;
}

/** A varint (lengths and keys: well below 2^53) and the offset after it. */
function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    value += (bytes[i] & 0x7f) * scale;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('truncated ONNX message');
}
