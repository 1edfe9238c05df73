import { fixedBatch, type TensorSpec } from '../registry/artifact/artifact.types';
import { toServableModel, type ServableVersion } from '../serving/servable';
import type { DataFormat } from './batch-job-spec';
import { invalidJob } from './batch.error';
import type { PinnedVersion } from './batch.types';
import type { ColumnType, OutputColumn } from './io/output-format';

/** How one model output fills output columns: one column, `name_0..k-1`, or one column of arrays when its size varies. */
export interface OutputLayout {
  output: string;
  /** Values per row when fixed by the signature. */
  perRow: number | null;
  columns: string[];
  type: ColumnType;
}

export function outputLayouts(outputs: readonly TensorSpec[]): OutputLayout[] {
  return outputs.map((spec) => {
    const rest = spec.shape.slice(1);
    const perRow = rest.every((d) => typeof d === 'number') ? rest.reduce<number>((a, d) => a * (d as number), 1) : null;
    const type = perRow === null ? 'json' : columnTypeOf(spec.type);
    const columns = perRow === null || perRow === 1 ? [spec.name] : Array.from({ length: perRow }, (_, i) => `${spec.name}_${i}`);
    return { output: spec.name, perRow, columns, type };
  });
}

/**
 * Outputs that are not one entry per row by the signature: a scalar, or a first dimension fixed
 * at a size that is not the inputs' own fixed batch (a constant `[3]`, NonZero's `[2, K]`).
 * Their values belong to a whole call, not to rows (online answers them per request, MLflow's
 * records refuse them), so a batch output row cannot hold them: read as per row, a `[3]` cut
 * across a mini-batch of 7 rows wrote `[7]` on the first row and `[null]` on the others.
 */
export function outputsNotPerRow(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): TensorSpec[] {
  const batch = fixedBatch(inputs);
  return outputs.filter((o) => o.shape.length === 0 || (typeof o.shape[0] === 'number' && o.shape[0] !== batch));
}

function columnTypeOf(tensorType: string): ColumnType {
  switch (tensorType) {
    case 'float32':
    case 'float16':
      return 'float';
    case 'float64':
      return 'double';
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
      return 'int32';
    case 'int64':
    case 'uint32':
    case 'uint64':
      return 'int64';
    case 'bool':
      return 'boolean';
    default:
      return 'string';
  }
}

/** Two models whose outputs share a name but not a type: the column takes a type both fit. */
function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  const numeric: ColumnType[] = ['int32', 'int64', 'float', 'double'];
  if (numeric.includes(a) && numeric.includes(b)) return 'double';
  return 'string';
}

/**
 * The job's output columns: passthrough, then `model` and `version`, then every output of the
 * pinned models in the order the partitions first use them. Later additions (a retry pinning a
 * model that was missing) only append, so files written earlier stay a prefix.
 */
export function jobColumns(passthrough: readonly string[], inputFormat: DataFormat, models: readonly PinnedVersion[], existing: readonly OutputColumn[] | null = null): OutputColumn[] {
  const columns: OutputColumn[] = existing
    ? existing.map((c) => ({ ...c }))
    : [...passthrough.map((name) => ({ name, type: (inputFormat === 'csv' ? 'string' : 'passthrough') as ColumnType })), { name: 'model', type: 'string' }, { name: 'version', type: 'int32' }];
  const index = new Map(columns.map((c, i) => [c.name, i]));
  // What each output column holds: an output, or one value of it (models share a column only for the same).
  const holds = new Map<string, ColumnContent>();
  for (const pinned of models) {
    const of = `model '${pinned.model}' (version ${pinned.version})`;
    for (const layout of outputLayouts(servableOf('', pinned).outputs)) {
      for (const [i, name] of layout.columns.entries()) {
        const content: ColumnContent = { output: layout.output, value: layout.columns.length === 1 ? null : i, of };
        const held = holds.get(name);
        if (held && (held.output !== content.output || held.value !== content.value)) {
          throw invalidJob(`column '${name}' would hold ${describeContent(held)} and ${describeContent(content)}: rename one of the outputs, or score these models in separate jobs`, 'route');
        }
        holds.set(name, content);
        const at = index.get(name);
        if (at === undefined) {
          index.set(name, columns.length);
          columns.push({ name, type: layout.type });
        } else if (at >= passthrough.length + 2) columns[at].type = widen(columns[at].type, layout.type);
        else {
          // One column cannot hold both: the output would overwrite the passed-through values (or the model and version).
          const output = `an output of ${of}`;
          if (at < passthrough.length) throw invalidJob(`passthrough column '${name}' has the name of ${output}: rename the input column or leave it out of passthrough`, 'passthrough');
          throw invalidJob(`${output} is named '${name}', like the output's own ${name} column: batch cannot write it`, 'route');
        }
      }
    }
  }
  return columns;
}

/** What an output column holds for one model: an output, or one value of it. */
interface ColumnContent {
  output: string;
  value: number | null;
  of: string;
}

function describeContent(c: ColumnContent): string {
  return c.value === null ? `output '${c.output}' of ${c.of}` : `value ${c.value} of output '${c.output}' of ${c.of}`;
}

/** The pinned version as serving's ServableVersion (no registry round trip: the pin is the truth). */
export function servableOf(tenantId: string, pinned: PinnedVersion): ServableVersion {
  const model = toServableModel(tenantId, {
    id: pinned.versionId,
    name: pinned.model,
    segment: {},
    versions: [{ id: pinned.versionId, version: pinned.version, modelSha256: pinned.modelSha256, signature: pinned.signature, mlflow: pinned.mlflow }],
    aliases: {},
  });
  return model.versions.get(pinned.version)!;
}

export function pinOf(version: ServableVersion): PinnedVersion {
  return { versionId: version.id, model: version.model, version: version.version, modelSha256: version.modelSha256, signature: version.signature, mlflow: version.mlflow };
}
