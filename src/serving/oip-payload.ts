import type { TensorSpec } from '../registry/artifact/artifact.types';
import { asObject } from './predict-request';
import { invalidInput, invalidRequest } from './serving.error';
import { namesDetail, sentName } from './name-list';
import { checkSymbolicDims, decodeShaped, dtypeOfOip, echo, HostTensor, inputsAre, oipDatatypeOf, requireDType } from './tensor-codec';

/**
 * The Open Inference Protocol's infer request, read in two steps as every prediction route is:
 * the envelope before the version is known (`parseOipEnvelope`), the inputs and the outputs
 * asked for against the resolved version (`decodeOipRequest`). Plain functions, so the JSON
 * codec thread runs the very same checks on big bodies.
 */

interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface OipEnvelope {
  /** The request's `id`, echoed in the answer. */
  id?: string;
  inputs: unknown;
  outputs: unknown;
}

export function parseOipEnvelope(body: unknown): OipEnvelope {
  const request = asObject(body, 'The request body');
  return { id: requestId(request.id), inputs: request.inputs, outputs: request.outputs };
}

export function tensorMetadata(spec: TensorSpec): OipTensorMetadata {
  return { name: spec.name, datatype: oipDatatypeOf(spec.type), shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)) };
}

/**
 * A tensor as Triton's model configuration describes it (ModelConfig's ModelInput/ModelOutput):
 * `TYPE_` and the protocol's datatype, but `TYPE_STRING` for BYTES; dims with the batch
 * dimension, as a config with `max_batch_size: 0` has them.
 */
export function tensorConfig(spec: TensorSpec): { name: string; data_type: string; dims: number[] } {
  const { name, datatype, shape } = tensorMetadata(spec);
  return { name, data_type: datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`, dims: shape };
}

/** `inputs: [{name, shape, datatype, data}]` → tensors in signature order, datatype checked against the model. */
function decodeOipInputs(specs: readonly TensorSpec[], rawInputs: unknown): HostTensor[] {
  // `[]` is the whole request of a model that takes no inputs (a constant), as /v1/predict's `{}` is.
  if (!Array.isArray(rawInputs) || (rawInputs.length === 0 && specs.length > 0)) {
    throw invalidRequest(`inputs must be ${specs.length ? 'a non-empty array of {"name", "shape", "datatype", "data"}' : 'an array: [] for this model, which takes no inputs'}`, { field: 'inputs' });
  }
  const given = new Map<string, Record<string, unknown>>();
  for (const raw of rawInputs) {
    const input = asObject(raw, 'inputs[]');
    if (typeof input.name !== 'string') throw invalidRequest('Every input needs a name', { field: 'inputs[].name' });
    if (given.has(input.name)) throw invalidInput(`Input '${sentName(input.name)}' is given twice`, { input: sentName(input.name) });
    if (!specs.some((s) => s.name === input.name)) {
      throw invalidInput(`Unknown input '${sentName(input.name)}': ${inputsAre(specs, '"inputs": []')}`, { input: sentName(input.name), ...namesDetail('expected', specs.map((s) => s.name)) });
    }
    given.set(input.name, input);
  }
  const feeds = specs.map((spec) => {
    const input = given.get(spec.name);
    if (!input) {
      throw invalidInput(`Missing input '${spec.name}' (${oipDatatypeOf(spec.type)}, shape ${JSON.stringify(tensorMetadata(spec).shape)})`, {
        input: spec.name,
        expected: tensorMetadata(spec),
      });
    }
    const datatype = input.datatype;
    if (typeof datatype !== 'string' || dtypeOfOip(datatype) !== requireDType(spec)) {
      const got = datatype === undefined || datatype === null ? 'no datatype (it is required)' : `datatype ${JSON.stringify(echo(datatype))}`;
      throw invalidInput(`Input '${spec.name}' is ${oipDatatypeOf(spec.type)} in the model, got ${got}`, {
        input: spec.name,
        expected: { datatype: oipDatatypeOf(spec.type) },
        got: { datatype: echo(datatype ?? null) },
      });
    }
    return decodeShaped(spec, input.shape, input.data);
  });
  checkSymbolicDims(specs, feeds);
  return feeds;
}

/**
 * The envelope's tensors against the resolved version: its inputs, and the outputs asked for (null
 * = all) among its tensor outputs; `mapOutputs` names its map or sequence outputs, which answers do not carry.
 */
export function decodeOipRequest(envelope: Pick<OipEnvelope, 'inputs' | 'outputs'>, specs: readonly TensorSpec[], outputNames: readonly string[], mapOutputs: readonly string[] = []): { tensors: HostTensor[]; wanted: string[] | null } {
  const tensors = decodeOipInputs(specs, envelope.inputs);
  return { tensors, wanted: requestedOutputs(outputNames, envelope.outputs, mapOutputs) };
}

/** The request's `id`, echoed in the answer: a string in the protocol. */
function requestId(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw invalidRequest(`id must be a string, got ${Array.isArray(raw) ? 'an array' : `a ${typeof raw}`}`, { field: 'id' });
  return raw;
}

/** The outputs asked for, in the order asked; null for all (no `outputs`, or an empty list, as Triton takes it). */
function requestedOutputs(outputNames: readonly string[], raw: unknown, mapOutputs: readonly string[]): string[] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw invalidRequest('outputs must be an array of {"name"}', { field: 'outputs' });
  if (raw.length === 0) return null;
  const listed = outputNames.map((o) => `'${o}'`).join(', ');
  const wanted = new Set<string>();
  for (const [i, item] of raw.entries()) {
    const name = asObject(item, `outputs[${i}]`).name;
    if (typeof name !== 'string') throw invalidRequest(`outputs[${i}] needs a name (a string): the model's outputs are ${listed}`, { field: `outputs[${i}].name` });
    if (mapOutputs.includes(name)) {
      throw invalidRequest(
        `Output '${name}' is a map or sequence (a classifier's ZipMap, say), which answers do not carry: the model's tensor outputs are ${listed} (export a classifier without ZipMap to have its probabilities as a tensor)`,
        { field: 'outputs', expected: [...outputNames] },
      );
    }
    if (!outputNames.includes(name)) {
      throw invalidRequest(`Unknown output '${sentName(name)}': the model's outputs are ${listed}`, { field: 'outputs', expected: [...outputNames] });
    }
    wanted.add(name);
  }
  return [...wanted];
}

/** The outputs to answer: those asked for, in the order asked, or all. */
export function selectOutputs(outputs: readonly HostTensor[], wanted: readonly string[] | null): HostTensor[] {
  if (wanted === null) return [...outputs];
  return wanted.map((name) => outputs.find((t) => t.name === name)).filter((t): t is HostTensor => t !== undefined);
}
