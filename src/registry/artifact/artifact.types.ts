export type ArtifactFormat = 'onnx' | 'mlflow';

/**
 * The input element types requests and batch files can feed; a model with an input of another
 * type (float16, bfloat16, a map or sequence) is refused at upload.
 */
export const FEEDABLE_INPUT_TYPES = ['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string'] as const;
export type FeedableInputType = (typeof FEEDABLE_INPUT_TYPES)[number];

/** One input or output of a model as the runtime reports it. */
export interface TensorSpec {
  name: string;
  /** onnxruntime's element type: float32, float64, int64, int32, bool, string, … */
  type: string;
  /** Fixed sizes as numbers, symbolic dimensions (batch) as their name, unknown as null. */
  shape: Array<number | string | null>;
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** What an uploaded artifact turned out to be, once checked. */
export interface InspectedArtifact {
  format: ArtifactFormat;
  /** The ONNX file the runtime loads, still a temp file in the store. */
  onnxPath: string;
  onnxSha256: string;
  /** Its size: what the store keeps for the version (an MLflow zip's model may be far bigger than the zip). */
  onnxSizeBytes: number;
  signature: ModelSignature;
  mlflow: Record<string, unknown> | null;
}

/** The first dimension every input declares, when it is the same fixed size for all (else the batch is free). */
export function fixedBatch(inputs: readonly TensorSpec[]): number | null {
  const first = inputs[0]?.shape[0];
  return typeof first === 'number' && inputs.every((s) => s.shape[0] === first) ? first : null;
}
