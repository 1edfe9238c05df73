import { echo } from '../../serving/tensor-codec';

/**
 * Forecast error arithmetic, shared by feedback (per prediction) and quality (per version and
 * window). Errors are predicted − actual: a positive bias means the model forecasts too high.
 */

/** Sums over the values of one or more predictions; they add up, so SQL can sum them too. */
export interface ErrorSums {
  /** Values compared (pairs of predicted and actual). */
  values: number;
  absError: number;
  sqError: number;
  signedError: number;
  /** Sum of |error| / |actual| over the values whose actual is not 0. */
  ape: number;
  /** Values whose actual is not 0 (MAPE's denominator). */
  apeValues: number;
}

export interface QualityFigures {
  mae: number | null;
  /** A fraction (0.125 = 12.5 %), like scikit-learn's mean_absolute_percentage_error; null when every actual was 0. */
  mape: number | null;
  bias: number | null;
  rmse: number | null;
}

export const EMPTY_SUMS: ErrorSums = { values: 0, absError: 0, sqError: 0, signedError: 0, ape: 0, apeValues: 0 };

/** Pairs with a null actual (not known yet) are skipped. */
export function errorSums(predicted: readonly number[], actual: readonly (number | null)[]): ErrorSums {
  const sums = { ...EMPTY_SUMS };
  const n = Math.min(predicted.length, actual.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    if (a === null) continue;
    const error = predicted[i] - a;
    const abs = Math.abs(error);
    sums.values++;
    sums.absError += abs;
    sums.sqError += error * error;
    sums.signedError += error;
    if (a !== 0) {
      sums.ape += abs / Math.abs(a);
      sums.apeValues++;
    }
  }
  return sums;
}

export function addSums(a: ErrorSums, b: ErrorSums): ErrorSums {
  return {
    values: a.values + b.values,
    absError: a.absError + b.absError,
    sqError: a.sqError + b.sqError,
    signedError: a.signedError + b.signedError,
    ape: a.ape + b.ape,
    apeValues: a.apeValues + b.apeValues,
  };
}

export function qualityOf(sums: ErrorSums): QualityFigures {
  if (sums.values === 0) return { mae: null, mape: null, bias: null, rmse: null };
  return {
    mae: sums.absError / sums.values,
    mape: sums.apeValues ? sums.ape / sums.apeValues : null,
    bias: sums.signedError / sums.values,
    rmse: Math.sqrt(sums.sqError / sums.values),
  };
}

/** Why an actual cannot be compared with a prediction (the feedback answer's message). */
export class FeedbackShapeError extends Error {}

/** A value the client sent, as an error repeats it: a scalar (a string cut to 64 characters), else only its kind. */
function sent(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(echo(value)) : String(echo(value));
}

/**
 * Flattens nested arrays of numbers (row-major) — a tensor as the predict answer shows it —
 * or a single number. `allowNull` keeps nulls (actuals not known yet).
 */
export function flattenValues(value: unknown, allowNull: boolean, path = 'actual'): Array<number | null> {
  const out: Array<number | null> = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${at}[${i}]`));
      return;
    }
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
    else if (typeof v === 'boolean' && !allowNull) out.push(v ? 1 : 0);
    else if (v === null && allowNull) out.push(null);
    else throw new FeedbackShapeError(`${at} must be ${allowNull ? 'a finite number or null' : 'numeric'}, got ${sent(v)}`);
  };
  walk(value, path);
  return out;
}

/**
 * The logged values of an output, when they are numbers: a classifier's label output holds text
 * (or a model's output booleans turned words), which no actual can be scored against — said of
 * the output, not as if the caller's actual were wrong.
 */
function numericOutput(predicted: Record<string, unknown>, name: string, outputs: readonly string[]): number[] {
  try {
    return flattenValues(predicted[name], false, name) as number[];
  } catch (error) {
    if (!(error instanceof FeedbackShapeError)) throw error;
    const numeric = outputs.filter((o) => o !== name && isNumericOutput(predicted[o]));
    const hint = numeric.length ? `; name a numeric output in actual, e.g. {"${numeric[0]}": …}` : '';
    throw new FeedbackShapeError(`output '${name}' of the logged prediction is not numeric (${error.message.replace(/^.*?got /, 'it holds ')}), so there is nothing to score an actual against${hint}`);
  }
}

function isNumericOutput(value: unknown): boolean {
  try {
    flattenValues(value, false);
    return true;
  } catch {
    return false;
  }
}

/** Nested array dimensions (of the first element at each level). */
function dimsOf(value: unknown): number[] {
  const dims: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    dims.push(v.length);
    v = v[0];
  }
  return dims;
}

/**
 * Pairs an actual with a logged prediction's outputs (`{"variable": [[142.5]]}`). The actual
 * is a number (the prediction must hold exactly one value), nested arrays shaped like an
 * output, or an object of output name → nested arrays. An unnamed actual is compared with
 * the first output (`firstOutput`, the model's first of several: the logged object's keys come
 * back from jsonb sorted, not in the model's order); null stands for a value not known yet. The
 * number of values must match (row-major): a mismatch is the caller's mistake, answered as such, never scored.
 */
export function pairWithPrediction(
  predicted: Record<string, unknown>,
  actual: unknown,
  firstOutput: string | null = null,
): { predicted: number[]; actual: Array<number | null> } {
  const keys = Object.keys(predicted);
  const outputs = firstOutput !== null && keys.includes(firstOutput) ? [firstOutput, ...keys.filter((k) => k !== firstOutput)] : keys;
  if (!outputs.length) throw new FeedbackShapeError('the logged prediction has no outputs');
  const isObject = actual !== null && typeof actual === 'object' && !Array.isArray(actual);
  const named: Array<[string, unknown]> = isObject ? Object.entries(actual as Record<string, unknown>) : [[outputs[0], actual]];
  if (!named.length) throw new FeedbackShapeError('actual names no output');
  const pairedPredicted: number[] = [];
  const pairedActual: Array<number | null> = [];
  for (const [name, value] of named) {
    if (!(name in predicted)) throw new FeedbackShapeError(`the model has no output '${name}' (it has ${outputs.map((o) => `'${o}'`).join(', ')})`);
    const path = isObject ? `actual.${name}` : 'actual';
    const p = numericOutput(predicted, name, outputs);
    const a = flattenValues(value, true, path);
    // Row-major values must line up one to one; [[1],[2]] and [1,2] are the same two values.
    if (a.length !== p.length) {
      throw new FeedbackShapeError(`${path} has ${a.length} value(s) but output '${name}' has ${p.length} (shape ${JSON.stringify(dimsOf(predicted[name]))})`);
    }
    pairedPredicted.push(...p);
    pairedActual.push(...a);
  }
  return { predicted: pairedPredicted, actual: pairedActual };
}
