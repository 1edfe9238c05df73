import type { ErrorBody } from '../common/error-body';
import { MlflowAnswerForm, mlflowPredictions } from './mlflow-answer';
import { HostTensor, oipDatatypeOf, setAnswerKey, toFlat, toNested } from './tensor-codec';

/**
 * The answers of the prediction routes, from the tensors a model returned: built on the HTTP
 * thread for small answers and in the JSON codec thread for big ones, by these same functions,
 * so that a client gets the same bytes either way (both are written with JSON.stringify, as
 * Fastify writes a route's answer).
 */

/** Answers with more values than this are encoded in the JSON codec thread (~16,000 values take ~2 ms to encode). */
const ENCODE_OFF_THREAD_VALUES = 16 * 1024;

export interface PredictAnswerParts {
  model: string;
  version: number;
  predictionId: string;
  outputs: HostTensor[];
}

/** What one of the prediction routes answers, before it is JSON. */
export type AnswerParts =
  | ({ route: 'predict' } & PredictAnswerParts)
  | { route: 'fanout'; results: Array<PredictAnswerParts | ErrorBody> }
  | { route: 'oip'; model: string; version: number; id?: string; outputs: HostTensor[] }
  | { route: 'mlflow'; form: MlflowAnswerForm; outputs: HostTensor[] };

export function answerBody(parts: AnswerParts): object {
  switch (parts.route) {
    case 'predict':
      return predictAnswer(parts);
    case 'fanout':
      return { results: parts.results.map((r) => ('error' in r ? r : predictAnswer(r))) };
    case 'oip':
      return {
        model_name: parts.model,
        model_version: String(parts.version),
        ...(parts.id === undefined ? {} : { id: parts.id }),
        outputs: parts.outputs.map((t) => ({ name: t.name, datatype: oipDatatypeOf(t.type), shape: t.dims, data: toFlat(t) })),
      };
    case 'mlflow':
      return { predictions: mlflowPredictions(parts.form, parts.outputs) };
  }
}

/** `{model, version, outputs: {name: nested}, predictionId}`: /v1/predict's answer and a fanout slot's. */
export function predictAnswer(parts: PredictAnswerParts): { model: string; version: number; outputs: Record<string, unknown>; predictionId: string } {
  return { model: parts.model, version: parts.version, outputs: outputsByName(parts.outputs), predictionId: parts.predictionId };
}

/** A /v1/predict answer's `outputs`: each output's values, nested by its shape, under its name. */
export function outputsByName(outputs: readonly HostTensor[]): Record<string, unknown> {
  const byName: Record<string, unknown> = {};
  for (const t of outputs) setAnswerKey(byName, t.name, toNested(t));
  return byName;
}

/** Whether an answer with these outputs is encoded in the JSON codec thread (by the values it holds: what encoding costs). */
export function isBigAnswer(outputs: readonly HostTensor[]): boolean {
  return isBigAnswerSize(valuesOf(outputs));
}

/** Whether an answer of `values` values in all is encoded in the JSON codec thread. */
export function isBigAnswerSize(values: number): boolean {
  return values > ENCODE_OFF_THREAD_VALUES;
}

/** How many values the outputs hold in all. */
export function valuesOf(outputs: readonly HostTensor[]): number {
  let n = 0;
  for (const t of outputs) n += t.data.length;
  return n;
}

/**
 * The answer with every output's values in a buffer of their own: a micro-batched call's outputs
 * are views into one buffer for the whole batch, which posting would copy whole, for each answer.
 */
export function withOwnBuffers(answer: AnswerParts): AnswerParts {
  const own = (outputs: HostTensor[]) => outputs.map((t) => (ArrayBuffer.isView(t.data) && t.data.byteLength !== t.data.buffer.byteLength ? { ...t, data: t.data.slice() } : t));
  if (answer.route === 'fanout') return { ...answer, results: answer.results.map((r) => ('error' in r ? r : { ...r, outputs: own(r.outputs) })) };
  return { ...answer, outputs: own(answer.outputs) };
}
