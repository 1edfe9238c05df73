import { Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import { clientReason } from '../../common/server-paths';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { FEEDABLE_INPUT_TYPES, ModelSignature, TensorSpec } from './artifact.types';
import { inputsWithoutShape } from './onnx-declared-shapes';

/**
 * Proves that an ONNX file loads in the runtime that will serve it, and reads its
 * signature. Anything that does not load is a 422: we never store what we cannot serve.
 */
@Injectable()
export class OnnxInspector {
  async inspect(onnxPath: string): Promise<ModelSignature> {
    let session: InferenceSession;
    try {
      // onnxruntime's log at FATAL only, as where models serve: a load failure is thrown (and answered),
      // and its warnings (an old model's initializers listed as inputs, one line each) would print outside the service's log.
      session = await InferenceSession.create(onnxPath, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 });
    } catch (error) {
      throw new RegistryError(RegistryErrorCode.ArtifactInvalid, 'The artifact is not a model the ONNX runtime can load', {
        reason: clientReason((error as Error).message),
      });
    }
    let signature: ModelSignature;
    try {
      signature = { inputs: session.inputMetadata.map(toTensorSpec), outputs: session.outputMetadata.map(toTensorSpec) };
    } finally {
      await session.release();
    }
    refuseInputsThatCannotBeFed(signature.inputs);
    refuseInputsThatMustBeEmpty(signature.inputs);
    await refuseInputsWithoutShape(onnxPath, signature.inputs);
    refuseModelsWithoutTensorOutputs(signature.outputs);
    return signature;
  }
}

/** Answers carry tensor outputs only (a ZipMap's maps, a sequence are not fetched): a model with none could answer nothing. */
function refuseModelsWithoutTensorOutputs(outputs: readonly TensorSpec[]): void {
  if (outputs.some((o) => o.type !== 'non-tensor')) return;
  throw new RegistryError(
    RegistryErrorCode.ArtifactInvalid,
    `The model has no tensor output (${outputs.map((o) => `'${o.name}'`).join(', ')}: maps or sequences), so it could answer nothing: export it with at least one tensor output (for a classifier, without ZipMap)`,
    { outputs: outputs.map((o) => o.name) },
  );
}

/** Requests and batch files give inputs as numbers, booleans and strings: an input of another element type could never be fed. */
function refuseInputsThatCannotBeFed(inputs: readonly TensorSpec[]): void {
  const unfeedable = inputs.filter((i) => !(FEEDABLE_INPUT_TYPES as readonly string[]).includes(i.type));
  if (!unfeedable.length) return;
  throw new RegistryError(
    RegistryErrorCode.ArtifactInvalid,
    `The model's input ${unfeedable.map((i) => `'${i.name}' is ${i.type}`).join(', ')}: inputs can only be ${FEEDABLE_INPUT_TYPES.join(', ')}; export the model with inputs of one of these types (a Cast inside the graph can convert them)`,
    { inputs: unfeedable.map((i) => ({ name: i.name, type: i.type })), supported: [...FEEDABLE_INPUT_TYPES] },
  );
}

/** Empty inputs are refused (400) on every route: an input declared with a dimension of size 0 could never be given. */
function refuseInputsThatMustBeEmpty(inputs: readonly TensorSpec[]): void {
  const empty = inputs.filter((i) => i.shape.includes(0));
  if (!empty.length) return;
  throw new RegistryError(
    RegistryErrorCode.ArtifactInvalid,
    `The model declares input ${empty.map((i) => `'${i.name}' with shape [${i.shape.join(', ')}]`).join(', ')}: a dimension of size 0 holds no values, and requests must give some; export it with that dimension's real size or a name such as 'N' for a free one`,
    { inputs: empty.map((i) => ({ name: i.name, shape: i.shape })) },
  );
}

/**
 * Requests are checked against the input shapes, and onnxruntime reports an input declared
 * without a shape as a scalar's []: such a model would register and then refuse every request
 * but a scalar. Only a model with a rank-0 input (rare) is read again to tell the two apart.
 */
async function refuseInputsWithoutShape(onnxPath: string, inputs: readonly TensorSpec[]): Promise<void> {
  if (!inputs.some((i) => i.type !== 'non-tensor' && i.shape.length === 0)) return;
  let unshaped: string[];
  try {
    unshaped = inputsWithoutShape(await readFile(onnxPath)).filter((name) => inputs.some((i) => i.name === name));
  } catch {
    return; // onnxruntime read it: a wire format this reader does not follow is no reason to refuse it
  }
  if (!unshaped.length) return;
  throw new RegistryError(
    RegistryErrorCode.ArtifactInvalid,
    `The model declares input ${unshaped.map((n) => `'${n}'`).join(', ')} without a shape: give every input a shape (its rank, with a name such as 'N' for a free dimension) when exporting the model, so that requests can be checked against it`,
    { inputs: unshaped },
  );
}

function toTensorSpec(meta: InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: [] };
  return {
    name: meta.name,
    type: meta.type,
    shape: meta.shape.map((d) => (typeof d === 'number' ? (d >= 0 ? d : null) : d || null)),
  };
}
