import type { ModelSignature, TensorSpec } from '../registry/artifact/artifact.types';
import type { Labels } from '../registry/entities/model.entity';

/**
 * What serving keeps in memory about a model: everything needed to pick a version and check
 * a request, so that a resolved prediction never goes back to the database.
 */
export interface ServableVersion {
  /** The version row's id: never reused (a model deleted and registered again gets new ids), so it keys the session cache. */
  readonly id: string;
  readonly tenantId: string;
  /** The model row's id (traffic rules are keyed by it). */
  readonly modelId: string;
  readonly model: string;
  readonly version: number;
  /** The ONNX file in the model store. */
  readonly modelSha256: string;
  readonly signature: ModelSignature;
  readonly mlflow: Record<string, unknown> | null;
  /** Tensor outputs only: non-tensor outputs (e.g. ZipMap's maps) are not fetched. */
  readonly outputs: readonly TensorSpec[];
  /**
   * Rows are independent by signature (every input and output has a free first dimension), so
   * requests may be concatenated into one call (micro-batching) and big ones cut into chunks.
   */
  readonly batchable: boolean;
}

export interface ServableModel {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly segment: Labels;
  readonly versions: ReadonlyMap<number, ServableVersion>;
  readonly aliases: ReadonlyMap<string, number>;
  /** The highest existing version (latest_version may name a deleted one). */
  readonly latest: ServableVersion | null;
}

export interface ServingModelRow {
  id: string;
  name: string;
  segment: Labels;
  versions: Array<{ id: string; version: number; modelSha256: string; signature: ModelSignature; mlflow: Record<string, unknown> | null }>;
  aliases: Record<string, number>;
}

export function toServableModel(tenantId: string, row: ServingModelRow): ServableModel {
  const versions = new Map<number, ServableVersion>();
  let latest: ServableVersion | null = null;
  for (const v of row.versions) {
    const outputs = v.signature.outputs.filter((o) => o.type !== 'non-tensor');
    const servable: ServableVersion = {
      id: v.id,
      tenantId,
      modelId: row.id,
      model: row.name,
      version: v.version,
      modelSha256: v.modelSha256,
      signature: v.signature,
      mlflow: v.mlflow,
      outputs,
      batchable: isBatchable(v.signature.inputs, outputs),
    };
    versions.set(v.version, servable);
    if (!latest || v.version > latest.version) latest = servable;
  }
  return { id: row.id, tenantId, name: row.name, segment: row.segment, versions, aliases: new Map(Object.entries(row.aliases)), latest };
}

function isBatchable(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): boolean {
  const freeFirstDim = (s: TensorSpec) => s.shape.length >= 1 && typeof s.shape[0] !== 'number';
  return inputs.length > 0 && outputs.length > 0 && inputs.every(freeFirstDim) && outputs.every(freeFirstDim);
}
