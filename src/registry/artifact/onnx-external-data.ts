import { fields, intField, lengthDelimited, rewriteFields, stringField } from './onnx-wire';

/** A tensor whose data lies in a file beside the model (ONNX external data). */
export interface ExternalTensorData {
  tensor: string;
  /** The file, relative to the model file's folder. */
  location: string;
  offset: number;
  /** Bytes from `offset`; undefined: to the end of the file. */
  length: number | undefined;
}

/** Why a model's external data cannot be made part of it (a file missing, a range beyond it). */
export class ExternalDataError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A model that, made whole, would be larger than the limit it was given (the upload's). */
export class ExternalDataTooLarge extends ExternalDataError {}

const LENGTH_DELIMITED = 2;
const MODEL_GRAPH = 7;
const [GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER] = [1, 5, 15];
const NODE_ATTRIBUTE = 5;
const [ATTRIBUTE_TENSOR, ATTRIBUTE_GRAPH, ATTRIBUTE_TENSORS, ATTRIBUTE_GRAPHS, ATTRIBUTE_SPARSE_TENSOR, ATTRIBUTE_SPARSE_TENSORS] = [5, 6, 10, 11, 22, 23];
const [SPARSE_VALUES, SPARSE_INDICES] = [1, 2];
const [TENSOR_NAME, TENSOR_RAW_DATA, TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION] = [8, 9, 13, 14];
const EXTERNAL = 1;
/** Protobuf's limit on one message: a model made whole must stay below it to load. */
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/**
 * An ONNX model whose tensors keep their data in files beside it (external data: what
 * `mlflow.onnx.save_model` writes by default, `save_as_external_data=True`, every tensor of about
 * 1 KiB or more in one file named by a uuid) made whole: each such tensor's bytes, read from the
 * files `read` gives, written into the tensor (`raw_data`), so that the model loads from its own
 * bytes. Undefined when the model has no external data. Initializers of every graph and
 * subgraph, and tensors in node attributes, are read, as onnx writes them. A model made whole
 * may not outgrow `maxBytes`: tensors can name the same bytes any number of times, so a small
 * file would otherwise make a model of gigabytes.
 */
export async function inlineExternalData(model: Uint8Array, read: (location: string) => Promise<Uint8Array>, maxBytes = MAX_MESSAGE_BYTES): Promise<Buffer | undefined> {
  const refs: ExternalTensorData[] = [];
  inModel(model, (tensor) => {
    const ref = externalRef(tensor);
    if (ref) refs.push(ref);
    return undefined;
  });
  if (!refs.length) return undefined;
  const files = new Map<string, Uint8Array>();
  for (const location of new Set(refs.map((r) => r.location))) files.set(location, await read(location));
  let total = model.length;
  const data = (ref: ExternalTensorData): Uint8Array => {
    const file = files.get(ref.location)!;
    const end = ref.length === undefined ? file.length : ref.offset + ref.length;
    if (ref.offset > file.length || end > file.length) {
      throw new ExternalDataError(`The ONNX model's tensor '${ref.tensor}' lies beyond the end of its external data file '${ref.location}' (bytes ${ref.offset} to ${end} of ${file.length})`, { ...ref, fileBytes: file.length });
    }
    total += end - ref.offset;
    if (total > MAX_MESSAGE_BYTES) throw new ExternalDataError('The ONNX model with its external data would be larger than 2 GiB, which one model file cannot hold', { limitBytes: MAX_MESSAGE_BYTES });
    if (total > maxBytes) throw new ExternalDataTooLarge(`The ONNX model with its external data would be larger than the limit of ${maxBytes} bytes`, { limitBytes: maxBytes });
    return file.subarray(ref.offset, end);
  };
  return inModel(model, (tensor) => {
    const ref = externalRef(tensor);
    if (!ref) return undefined;
    const rest = rewriteFields(tensor, (field) => (field === TENSOR_EXTERNAL_DATA || field === TENSOR_DATA_LOCATION || field === TENSOR_RAW_DATA ? null : undefined)) ?? tensor;
    return Buffer.concat([rest, ...lengthDelimited(TENSOR_RAW_DATA, data(ref))]);
  });
}

/** Where a tensor's data lies, when it is external. */
function externalRef(tensor: Uint8Array): ExternalTensorData | undefined {
  if (intField(tensor, TENSOR_DATA_LOCATION) !== EXTERNAL) return undefined;
  const entries = new Map(fields(tensor, TENSOR_EXTERNAL_DATA).map((entry) => [stringField(entry, 1), stringField(entry, 2)]));
  const name = stringField(tensor, TENSOR_NAME);
  const number = (key: string): number | undefined => {
    const text = entries.get(key);
    if (text === undefined) return undefined;
    if (!/^\d{1,15}$/.test(text)) throw new ExternalDataError(`The ONNX model's tensor '${name}' has an external data ${key} that is not a number: '${text}'`, { tensor: name, [key]: text });
    return Number(text);
  };
  const location = entries.get('location');
  if (!location) throw new ExternalDataError(`The ONNX model's tensor '${name}' is external but names no file`, { tensor: name });
  return { tensor: name, location, offset: number('offset') ?? 0, length: number('length') };
}

type TensorRewrite = (tensor: Uint8Array) => Uint8Array | undefined;

function inModel(model: Uint8Array, rewrite: TensorRewrite): Buffer | undefined {
  return rewriteFields(model, (field, wireType, value) => (field === MODEL_GRAPH && wireType === LENGTH_DELIMITED ? inGraph(value, rewrite) : undefined));
}

function inGraph(graph: Uint8Array, rewrite: TensorRewrite): Buffer | undefined {
  return rewriteFields(graph, (field, wireType, value) => {
    if (wireType !== LENGTH_DELIMITED) return undefined;
    if (field === GRAPH_INITIALIZER) return rewrite(value);
    if (field === GRAPH_SPARSE_INITIALIZER) return inSparse(value, rewrite);
    if (field === GRAPH_NODE) return rewriteFields(value, (f, w, attribute) => (f === NODE_ATTRIBUTE && w === LENGTH_DELIMITED ? inAttribute(attribute, rewrite) : undefined));
    return undefined;
  });
}

function inAttribute(attribute: Uint8Array, rewrite: TensorRewrite): Buffer | undefined {
  return rewriteFields(attribute, (field, wireType, value) => {
    if (wireType !== LENGTH_DELIMITED) return undefined;
    if (field === ATTRIBUTE_TENSOR || field === ATTRIBUTE_TENSORS) return rewrite(value);
    if (field === ATTRIBUTE_GRAPH || field === ATTRIBUTE_GRAPHS) return inGraph(value, rewrite);
    if (field === ATTRIBUTE_SPARSE_TENSOR || field === ATTRIBUTE_SPARSE_TENSORS) return inSparse(value, rewrite);
    return undefined;
  });
}

function inSparse(sparse: Uint8Array, rewrite: TensorRewrite): Buffer | undefined {
  return rewriteFields(sparse, (field, wireType, value) => ((field === SPARSE_VALUES || field === SPARSE_INDICES) && wireType === LENGTH_DELIMITED ? rewrite(value) : undefined));
}
