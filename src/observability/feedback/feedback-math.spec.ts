import { addSums, EMPTY_SUMS, errorSums, FeedbackShapeError, pairWithPrediction, qualityOf } from './feedback-math';

describe('forecast error arithmetic', () => {
  it('computes MAE, MAPE, bias and RMSE as worked out by hand', () => {
    // predicted 110, 90, 50, 10; actual 100, 100, 50, 0
    // errors +10, -10, 0, +10 → |e| 10, 10, 0, 10 → MAE 30/4 = 7.5
    // bias (10 - 10 + 0 + 10) / 4 = 2.5; RMSE sqrt(300/4) = 8.660…
    // APE over non-zero actuals: 10/100, 10/100, 0/50 → 0.2/3 = 0.0667
    const sums = errorSums([110, 90, 50, 10], [100, 100, 50, 0]);
    expect(sums).toEqual({ values: 4, absError: 30, sqError: 300, signedError: 10, ape: 0.2, apeValues: 3 });
    const q = qualityOf(sums);
    expect(q.mae).toBe(7.5);
    expect(q.bias).toBe(2.5);
    expect(q.rmse).toBeCloseTo(Math.sqrt(75), 12);
    expect(q.mape).toBeCloseTo(0.2 / 3, 12);
  });

  it('skips actuals not known yet (null), and has no MAPE when every actual is 0', () => {
    expect(errorSums([1, 2, 3], [null, 2, null])).toEqual({ values: 1, absError: 0, sqError: 0, signedError: 0, ape: 0, apeValues: 1 });
    expect(qualityOf(errorSums([1, 2], [0, 0])).mape).toBeNull();
    expect(qualityOf(EMPTY_SUMS)).toEqual({ mae: null, mape: null, bias: null, rmse: null });
  });

  it('adds sums of several predictions up exactly as one batch would', () => {
    const a = errorSums([110, 90], [100, 100]);
    const b = errorSums([50, 10], [50, 0]);
    expect(addSums(a, b)).toEqual(errorSums([110, 90, 50, 10], [100, 100, 50, 0]));
  });
});

describe('pairing an actual with a logged prediction', () => {
  const one = { variable: [[142.5]] };
  const rows = { variable: [[10], [20], [30]] };

  it('takes a number for a one-value prediction', () => {
    expect(pairWithPrediction(one, 150)).toEqual({ predicted: [142.5], actual: [150] });
  });

  it('takes nested arrays shaped like the output, or the same values flat', () => {
    expect(pairWithPrediction(rows, [[11], [19], [null]])).toEqual({ predicted: [10, 20, 30], actual: [11, 19, null] });
    expect(pairWithPrediction(rows, [11, 19, 33])).toEqual({ predicted: [10, 20, 30], actual: [11, 19, 33] });
  });

  it('takes an object naming outputs', () => {
    const two = { mean: [[5]], p90: [[9]] };
    expect(pairWithPrediction(two, { p90: [[10]] })).toEqual({ predicted: [9], actual: [10] });
    expect(pairWithPrediction(two, [[4]])).toEqual({ predicted: [5], actual: [4] }); // unnamed: the first output
  });

  it.each([
    ['a number for several values', rows, 5, /1 value\(s\) but output 'variable' has 3/],
    ['too few values', rows, [[1], [2]], /2 value\(s\) but output 'variable' has 3/],
    ['an unknown output', one, { nope: [[1]] }, /no output 'nope'/],
    ['text', one, 'high', /finite number or null/],
    ['an infinite value', one, [[Infinity]], /finite number or null/],
    ['an empty object', one, {}, /names no output/],
    // An error repeats a scalar the client sent (a string cut short), never an array or object.
    ['an object among the values', rows, [[{ x: 1 }], [2], [3]], /actual\[0\]\[0\] must be a finite number or null, got an object$/],
    ['a long string among the values', one, [['x'.repeat(100)]], new RegExp(`got "${'x'.repeat(64)}…"$`)],
    // A classifier's label output holds text: the message is about that output, not the caller's actual.
    ['an actual for a text output', { output_label: [['walk']], scores: [[0.2, 0.8]] }, 1, /output 'output_label' of the logged prediction is not numeric \(it holds "walk"\).*e\.g\. \{"scores": …\}/],
    ['an actual for the only, text, output', { label: [['walk']] }, 1, /output 'label' of the logged prediction is not numeric \(it holds "walk"\), so there is nothing to score an actual against$/],
  ])('refuses %s', (_what, predicted, actual, message) => {
    expect(() => pairWithPrediction(predicted as Record<string, unknown>, actual)).toThrow(FeedbackShapeError);
    expect(() => pairWithPrediction(predicted as Record<string, unknown>, actual)).toThrow(message);
  });
});
