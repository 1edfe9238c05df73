/**
 * Just enough of protobuf's wire format to read parts of an ONNX file without decoding the whole
 * of it (a tree ensemble's attributes or a network's weights can be hundreds of MB): each call
 * reads one level of one message, skipping what it is not asked for. ONNX's schema is proto2,
 * whose repeated numbers are not packed unless the writer chose to: a tree ensemble's attribute
 * can be a million separate fields, so the scan works on plain numbers and allocates nothing per
 * field it skips.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * Calls `visit` with each field's number, wire type and where its value lies (for a varint, its
 * bytes); stops early when `visit` says true.
 */
function scan(message: Uint8Array, visit: (field: number, wireType: number, start: number, end: number, keyAt: number) => boolean | void): void {
  let at = 0;
  while (at < message.length) {
    const [key, afterKey] = readLength(message, at);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    let start = afterKey;
    let end: number;
    if (wireType === VARINT) end = skipVarint(message, start);
    else if (wireType === FIXED64) end = start + 8;
    else if (wireType === FIXED32) end = start + 4;
    else if (wireType === LENGTH_DELIMITED) {
      const [length, afterLength] = readLength(message, start);
      start = afterLength;
      end = start + length;
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
    if (end > message.length) throw new Error('truncated ONNX message');
    if (visit(field, wireType, start, end, at) === true) return;
    at = end;
  }
}

/** The length-delimited fields numbered `wanted` in one message (sub-messages, strings, packed arrays), as views. */
export function fields(message: Uint8Array, wanted: number): Uint8Array[] {
  const found: Uint8Array[] = [];
  scan(message, (field, wireType, start, end) => {
    if (field === wanted && wireType === LENGTH_DELIMITED) found.push(message.subarray(start, end));
  });
  return found;
}

/**
 * A singular sub-message (or bytes) field: undefined when absent. Protobuf would merge a
 * singular field written twice (or keep the last); a reader taking the first could see another
 * model than the runtime does, so a file that repeats one is refused here (an error).
 */
export function onlyField(message: Uint8Array, wanted: number): Uint8Array | undefined {
  const found = fields(message, wanted);
  if (found.length > 1) throw new Error(`field ${wanted} is written ${found.length} times`);
  return found[0];
}

/** A singular string field, or '' (protobuf's default); refused when written twice (see onlyField). */
export function stringField(message: Uint8Array, wanted: number): string {
  const bytes = onlyField(message, wanted);
  return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '';
}

/** A singular int64/int32 field (a varint), or undefined; refused when written twice or with another wire type. */
export function intField(message: Uint8Array, wanted: number): number | undefined {
  let value: number | undefined;
  let seen = 0;
  scan(message, (field, wireType, start) => {
    if (field !== wanted) return;
    if (wireType !== VARINT || ++seen > 1) throw new Error(`field ${wanted} is not one varint`);
    value = signedVarint(message, start);
  });
  return value;
}

/** Every string field numbered `wanted` (a repeated string), in order. */
export function stringFields(message: Uint8Array, wanted: number): string[] {
  return fields(message, wanted).map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/**
 * The integers of a repeated (or single) int64/int32 field, packed or not, as signed numbers
 * (protobuf writes a negative int64 as ten bytes of two's complement).
 */
export function intFields(message: Uint8Array, wanted: number): number[] {
  const values: number[] = [];
  scan(message, (field, wireType, start, end) => {
    if (field !== wanted) return;
    if (wireType === VARINT) values.push(signedVarint(message, start));
    else if (wireType === LENGTH_DELIMITED) for (let at = start; at < end; at = skipVarint(message, at)) values.push(signedVarint(message, at));
  });
  return values;
}

/**
 * The message with some fields replaced: `replace` is given each field's number, wire type and
 * content (a length-delimited field's; empty for the other wire types, so that a million
 * separate numbers cost no view each) and answers the new content of a length-delimited field,
 * null to drop the field, or undefined to keep it as it is; all else is copied byte for byte.
 * Undefined when nothing changed.
 */
export function rewriteFields(message: Uint8Array, replace: (field: number, wireType: number, content: Uint8Array) => Uint8Array | null | undefined): Buffer | undefined {
  const parts: Uint8Array[] = [];
  let copiedTo = 0;
  scan(message, (field, wireType, start, end, keyAt) => {
    const next = replace(field, wireType, wireType === LENGTH_DELIMITED ? message.subarray(start, end) : NO_CONTENT);
    if (next === undefined) return;
    parts.push(message.subarray(copiedTo, keyAt));
    if (next !== null) parts.push(...lengthDelimited(field, next));
    copiedTo = end;
  });
  if (!parts.length) return undefined;
  parts.push(message.subarray(copiedTo));
  return Buffer.concat(parts);
}

const NO_CONTENT = new Uint8Array(0);

/** A length-delimited field's key, length and content, to be written one after the other. */
export function lengthDelimited(field: number, content: Uint8Array): Uint8Array[] {
  return [varint(field * 8 + LENGTH_DELIMITED), varint(content.length), content];
}

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = value; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) {
      bytes.push(rest);
      return Uint8Array.from(bytes);
    }
    bytes.push((rest % 128) | 0x80);
  }
}

/** A varint that is a key or a length: well below 2^53. */
function readLength(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    value += (bytes[i] & 0x7f) * scale;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('truncated ONNX message');
}

function skipVarint(bytes: Uint8Array, at: number): number {
  for (let i = at; i < bytes.length && i < at + 10; i++) if ((bytes[i] & 0x80) === 0) return i + 1;
  throw new Error('truncated ONNX message');
}

function signedVarint(bytes: Uint8Array, at: number): number {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    value |= BigInt(bytes[i] & 0x7f) << shift;
    if ((bytes[i] & 0x80) === 0) return Number(BigInt.asIntN(64, value));
    shift += 7n;
  }
  throw new Error('truncated ONNX message');
}
