import { DomainError } from '../../common/domain-error';
import { decodeMlflowInputs, mlflowColumnNames } from '../../serving/mlflow-payload';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { fixedBatch, type TensorSpec } from './artifact.types';

/** A value of each MLflow column type, to try the columns against the model's inputs. */
const PROBE_VALUES: Record<string, unknown> = { double: 0, float: 0, long: 0, integer: 0, boolean: false, string: '' };

/**
 * An MLflow signature whose columns cannot feed the ONNX model's inputs (two columns for an
 * `[N, 3]` input, a text column for a float one) would make every data frame request a 400:
 * refused at upload (422 MLMODEL_INVALID) instead, by decoding a one-row frame of its columns
 * exactly as a request's would be. Columns of other types (binary, datetime) are not tried.
 */
export function assertMlflowColumnsFit(inputs: readonly TensorSpec[], mlflow: Record<string, unknown>): void {
  const columns = mlflowColumnNames(mlflow);
  if (!columns) return;
  const types = ((mlflow.signature as { inputs: Array<{ type?: unknown }> }).inputs ?? []).map((c) => c.type);
  if (!types.every((t) => typeof t === 'string' && t in PROBE_VALUES)) return;
  // As many rows as a model exported with a fixed batch takes (all its inputs' first dimension), else one.
  const rows = fixedBatch(inputs) || 1;
  const row = types.map((t) => PROBE_VALUES[t as string]);
  try {
    decodeMlflowInputs({ kind: 'dataframe', columns, rows: Array.from({ length: rows }, () => row) }, inputs, columns);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new RegistryError(
      RegistryErrorCode.MlmodelInvalid,
      `The MLmodel signature's columns (${columns.join(', ')}) cannot feed the ONNX model's inputs, so no data frame could be scored: ${error.message}`,
      { columns, inputs: inputs.map((i) => ({ name: i.name, type: i.type, shape: i.shape })) },
    );
  }
}
