import { fixedBatch, type TensorSpec } from '../registry/artifact/artifact.types';
import { HostTensor, rowOf, setAnswerKey, toNested } from './tensor-codec';

/**
 * How an MLflow answer is written: one record per data frame row (`[{"y": 1}, …]`), or a dict
 * of whole output arrays (`{"y": [[1], …]}`), as `instances`/`inputs` are always answered.
 */
export type MlflowAnswerForm = 'records' | 'dict';

/**
 * The form of the answer to a payload read as a data frame of `frameRows` rows (null: read as
 * tensors). A data frame is answered as records only when every output is per row by the
 * model's signature. MLflow's ONNX flavor builds `pd.DataFrame.from_dict(outputs)`, which fails
 * (400) when an output does not have one value per row, and silently cuts one that happens to:
 * here such a model answers the whole request as a dict instead, whatever the row count, so that
 * no output is ever attributed to rows it does not belong to.
 */
export function mlflowAnswerForm(frameRows: number | null, inputs: readonly TensorSpec[], outputSpecs: readonly TensorSpec[], outputs: readonly HostTensor[]): MlflowAnswerForm {
  if (frameRows === null || !outputs.length) return 'dict';
  const batch = fixedBatch(inputs);
  const perRow = (o: HostTensor) => isPerRow(o, outputSpecs.find((s) => s.name === o.name), frameRows, batch);
  return outputs.every(perRow) ? 'records' : 'dict';
}

/**
 * An output is per row when its declared first dimension is the batch: symbolic or unknown (no
 * declared shape either) and it came out with one entry per row, or fixed and equal to the
 * inputs' own fixed batch size (a model exported for one row: [1, 6] → [1, 1]). A fixed size
 * that is not the inputs' (a constant [3], NonZero's [2, K]) never is, even when it equals the
 * row count: that would make the answer's form depend on how many rows were sent.
 */
function isPerRow(output: HostTensor, spec: TensorSpec | undefined, rows: number, batch: number | null): boolean {
  if (output.dims.length === 0 || output.dims[0] !== rows) return false;
  const declared = spec?.shape[0];
  return typeof declared !== 'number' || declared === batch;
}

/** `{"predictions": …}`'s value in the given form. */
export function mlflowPredictions(form: MlflowAnswerForm, outputs: readonly HostTensor[]): unknown {
  if (form === 'dict') return Object.fromEntries(outputs.map((o) => [o.name, toNested(o)]));
  const rows = outputs.length ? outputs[0].dims[0] : 0;
  const records = new Array<Record<string, unknown>>(rows);
  for (let r = 0; r < rows; r++) {
    const record: Record<string, unknown> = {};
    for (const o of outputs) setAnswerKey(record, o.name, rowOf(o, r));
    records[r] = record;
  }
  return records;
}
