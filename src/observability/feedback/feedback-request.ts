import { MODEL_NAME } from '../../registry/names';
import { ObservabilityError, ObservabilityErrorCode } from '../observability.error';
import { isStorableText, UNSTORABLE_TEXT } from '../../common/storable-text';

/** Which logged prediction an actual belongs to: its id, or the model and the caller's routing key. */
export type FeedbackRef = { predictionId: string } | { model: string; key: string };

export interface FeedbackItem {
  ref: FeedbackRef;
  actual: unknown;
}

export const MAX_FEEDBACK_ITEMS = 10_000;
const ITEM_FIELDS = new Set(['predictionId', 'model', 'key', 'actual']);

function invalid(message: string, details: Record<string, unknown> = {}): ObservabilityError {
  return new ObservabilityError(ObservabilityErrorCode.InvalidRequest, message, details);
}

/**
 * `{"predictionId", "actual"}`, `{"model", "key", "actual"}`, or `{"items": [either, ...]}`.
 * A malformed single body is a 400; in a list, a malformed item is an error in its slot.
 */
export function parseFeedbackBody(body: unknown): { batch: boolean; items: Array<FeedbackItem | ObservabilityError> } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('The request body must be a JSON object');
  const obj = body as Record<string, unknown>;
  if ('items' in obj) {
    const extra = Object.keys(obj).filter((k) => k !== 'items');
    if (extra.length) throw invalid(`Unknown field '${extra[0]}' beside items`, { field: extra[0] });
    if (!Array.isArray(obj.items) || obj.items.length === 0) throw invalid('items must be a non-empty array', { field: 'items' });
    if (obj.items.length > MAX_FEEDBACK_ITEMS) throw invalid(`At most ${MAX_FEEDBACK_ITEMS} items per call`, { field: 'items', limit: MAX_FEEDBACK_ITEMS });
    return {
      batch: true,
      items: obj.items.map((item, i) => {
        try {
          return parseFeedbackItem(item, `items[${i}]`);
        } catch (error) {
          if (error instanceof ObservabilityError) return error;
          throw error;
        }
      }),
    };
  }
  return { batch: false, items: [parseFeedbackItem(obj, 'the body')] };
}

export function parseFeedbackItem(item: unknown, where: string): FeedbackItem {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw invalid(`${where} must be an object`);
  const obj = item as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!ITEM_FIELDS.has(key)) throw invalid(`Unknown field '${key}' in ${where}: feedback takes predictionId (or model and key) and actual`, { field: key });
  }
  if (obj.actual === undefined) throw invalid(`${where} needs actual: what really happened, shaped like the prediction's output`, { field: 'actual' });
  if (obj.predictionId !== undefined) {
    if (obj.model !== undefined || obj.key !== undefined) throw invalid(`${where}: give predictionId, or model and key, not both`, { field: 'predictionId' });
    if (typeof obj.predictionId !== 'string' || !obj.predictionId || obj.predictionId.length > 64) throw invalid(`${where}: predictionId must be the string a prediction answered`, { field: 'predictionId' });
    return { ref: { predictionId: obj.predictionId }, actual: obj.actual };
  }
  if (typeof obj.model !== 'string' || !MODEL_NAME.test(obj.model)) throw invalid(`${where} needs predictionId, or model (a model name) and key`, { field: 'model' });
  if (typeof obj.key !== 'string' || !obj.key || obj.key.length > 256 || !isStorableText(obj.key)) {
    throw invalid(`${where}: key must be the routing key sent with the prediction (a string of at most 256 characters, without ${UNSTORABLE_TEXT})`, { field: 'key' });
  }
  return { ref: { model: obj.model, key: obj.key }, actual: obj.actual };
}

export interface QualityWindow {
  label: string;
  ms: number;
}

export const DEFAULT_WINDOW = '7d';
const HOUR_MS = 3_600_000;

/** `?window=`: hours or days (`24h`, `1d`, `7d`, `30d`), from 1 hour to 3650 days; default 7d. */
export function parseWindow(raw: unknown): QualityWindow {
  const text = raw === undefined || raw === '' ? DEFAULT_WINDOW : raw;
  const match = typeof text === 'string' ? /^([0-9]{1,5})([hd])$/.exec(text) : null;
  const ms = match ? Number(match[1]) * (match[2] === 'd' ? 24 * HOUR_MS : HOUR_MS) : NaN;
  if (!match || ms < HOUR_MS || ms > 3650 * 24 * HOUR_MS) {
    throw invalid('window must be a number of hours or days, such as 24h, 7d or 30d (1h to 3650d)', { field: 'window', value: typeof raw === 'string' ? raw.slice(0, 40) : raw });
  }
  return { label: text as string, ms };
}
