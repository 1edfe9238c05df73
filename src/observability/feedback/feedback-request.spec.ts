import { ObservabilityError } from '../observability.error';
import { MAX_FEEDBACK_ITEMS, parseFeedbackBody, parseWindow } from './feedback-request';

describe('feedback requests', () => {
  it('reads one item by prediction id, or by model and key', () => {
    expect(parseFeedbackBody({ predictionId: 'abc', actual: 3 })).toEqual({ batch: false, items: [{ ref: { predictionId: 'abc' }, actual: 3 }] });
    expect(parseFeedbackBody({ model: 'demand-0042', key: '0042|2026-11-24', actual: [[3]] }).items[0]).toEqual({
      ref: { model: 'demand-0042', key: '0042|2026-11-24' },
      actual: [[3]],
    });
  });

  it('answers a list with an error in the slot of a bad item', () => {
    const { batch, items } = parseFeedbackBody({ items: [{ predictionId: 'a', actual: 1 }, { actual: 1 }, { predictionId: 'b', model: 'm', key: 'k', actual: 1 }] });
    expect(batch).toBe(true);
    expect(items[0]).toEqual({ ref: { predictionId: 'a' }, actual: 1 });
    expect(items[1]).toBeInstanceOf(ObservabilityError);
    expect(items[2]).toBeInstanceOf(ObservabilityError);
  });

  it.each([
    ['not an object', [1]],
    ['no actual', { predictionId: 'a' }],
    ['an unknown field', { predictionId: 'a', actual: 1, extra: true }],
    ['neither id nor model', { actual: 1 }],
    ['a model without key', { model: 'm', actual: 1 }],
    ['a bad model name', { model: 'Bad Name', key: 'k', actual: 1 }],
    ['an empty list', { items: [] }],
    ['a field beside items', { items: [{ predictionId: 'a', actual: 1 }], actual: 2 }],
    ['too many items', { items: Array.from({ length: MAX_FEEDBACK_ITEMS + 1 }, () => ({ predictionId: 'a', actual: 1 })) }],
  ])('refuses %s with a 400-class error', (_what, body) => {
    expect(() => parseFeedbackBody(body)).toThrow(ObservabilityError);
  });

  it('reads windows in hours and days', () => {
    expect(parseWindow(undefined)).toEqual({ label: '7d', ms: 7 * 86_400_000 });
    expect(parseWindow('24h')).toEqual({ label: '24h', ms: 86_400_000 });
    expect(parseWindow('30d').ms).toBe(30 * 86_400_000);
    for (const bad of ['0h', '7w', 'd', '4000d', ['1d'], '1.5d']) expect(() => parseWindow(bad)).toThrow(/window must be/);
  });
});
