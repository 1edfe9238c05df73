import type { Labels } from '../registry/entities/model.entity';
import { ALIAS_NAME, asVersionNumber, MODEL_NAME, VERSION_RANGE } from '../registry/names';
import { invalidRequest, ServingError, ServingErrorCode } from './serving.error';
import { isStorableText, UNSTORABLE_TEXT } from '../common/storable-text';

/** Which model and version a request wants (API.md "Online inference"). */
export interface ModelSelector {
  model?: string;
  segment?: Labels;
  version?: number;
  alias?: string;
  /** Sticky routing key for traffic rules (`x-routing-key` header or body `key`). */
  routingKey?: string;
}

export interface PredictRequest {
  selector: ModelSelector;
  inputs: Record<string, unknown>;
}

const PREDICT_FIELDS = new Set(['model', 'segment', 'version', 'alias', 'key', 'inputs']);
const MAX_SEGMENT_KEYS = 64;
export const MAX_FANOUT = 1000;

/**
 * Reads the /v1/predict envelope by hand rather than through a DTO: class-transformer would
 * walk (and copy) every element of the nested input arrays.
 */
export function parsePredictRequest(body: unknown, routingKeyHeader?: string): PredictRequest {
  const obj = asObject(body, 'The request body');
  for (const key of Object.keys(obj)) {
    if (!PREDICT_FIELDS.has(key)) {
      throw invalidRequest(`Unknown field '${key}': a prediction takes model or segment, version, alias, key and inputs`, { field: key });
    }
  }
  const selector = parseSelector(obj);
  // An empty key is no key, as an empty x-routing-key header is (and as feedback, which refuses one, needs).
  if (given(obj.key) && obj.key !== '') {
    if (typeof obj.key !== 'string' || obj.key.length > 256) throw invalidRequest('key must be a string of at most 256 characters', { field: 'key' });
    if (!isStorableText(obj.key)) throw invalidRequest(`key must not hold ${UNSTORABLE_TEXT}`, { field: 'key' });
    selector.routingKey = obj.key;
  } else {
    selector.routingKey = checkedRoutingKeyHeader(routingKeyHeader);
  }
  if (obj.inputs === undefined) throw invalidRequest('inputs is required: an object mapping each input name to its tensor', { field: 'inputs' });
  const inputs = asObject(obj.inputs, 'inputs');
  return { selector, inputs };
}

/**
 * The `x-routing-key` header of any prediction route (empty: none), held to the body field's
 * limit, so that feedback by key (which takes at most 256) can name any key a prediction was logged with.
 */
export function checkedRoutingKeyHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (header.length > 256) throw invalidRequest('The x-routing-key header must be at most 256 characters, as the body field key', { header: 'x-routing-key' });
  return header;
}

/** `model` or `segment` (exactly one), and at most one of `version` and `alias`; `null` is as good as absent. */
export function parseSelector(obj: Record<string, unknown>, { requireTarget = true } = {}): ModelSelector {
  const selector: ModelSelector = {};
  if (given(obj.model) && given(obj.segment)) throw invalidRequest('Give either model or segment, not both', { field: 'segment' });
  if (given(obj.model)) selector.model = parseModelName(obj.model);
  else if (given(obj.segment)) selector.segment = parseSegment(obj.segment);
  else if (requireTarget) throw invalidRequest('Name the model ("model": "demand-north-0042") or a segment ("segment": {"region": "north"})', { field: 'model' });
  if (given(obj.version) && given(obj.alias)) throw invalidRequest('Give either version or alias, not both', { field: 'alias' });
  if (given(obj.version)) {
    const n = asVersionNumber(obj.version);
    if (n === undefined) throw invalidRequest(`version must be ${VERSION_RANGE}`, { field: 'version' });
    selector.version = n;
  }
  if (given(obj.alias)) {
    if (typeof obj.alias !== 'string' || !ALIAS_NAME.test(obj.alias)) {
      throw invalidRequest(`alias must match ${ALIAS_NAME.source}`, { field: 'alias' });
    }
    selector.alias = obj.alias;
  }
  return selector;
}

export function parseModelName(value: unknown): string {
  if (typeof value !== 'string') {
    throw new ServingError(ServingErrorCode.InvalidModelName, `model must be a string (a model name matching ${MODEL_NAME.source}), got ${jsonTypeOf(value)}`, { pattern: MODEL_NAME.source });
  }
  if (!MODEL_NAME.test(value)) {
    const shown = value.slice(0, 140);
    throw new ServingError(ServingErrorCode.InvalidModelName, `Model name '${shown}' must match ${MODEL_NAME.source}`, { name: shown, pattern: MODEL_NAME.source });
  }
  return value;
}

export function parseSegment(value: unknown): Labels {
  const obj = asObject(value, 'segment');
  const entries = Object.entries(obj);
  if (entries.length === 0) throw invalidRequest('segment must have at least one key, e.g. {"region": "north"}', { field: 'segment' });
  if (entries.length > MAX_SEGMENT_KEYS) throw invalidRequest(`segment has more than ${MAX_SEGMENT_KEYS} keys`, { field: 'segment' });
  for (const [key, v] of entries) {
    if (!isStorableText(key) || (typeof v === 'string' && !isStorableText(v))) throw invalidRequest(`segment keys and values must not hold ${UNSTORABLE_TEXT}`, { field: 'segment' });
    if (typeof v !== 'string') {
      // A number is the likely slip: store "0042" sent as 42.
      const hint = typeof v === 'number' ? ' (segments match exactly: "0042" is not 42)' : '';
      throw invalidRequest(`segment.${key} must be a string, got ${jsonTypeOf(v)}${hint}`, { field: `segment.${key}` });
    }
  }
  return obj as Labels;
}

/** The fanout envelope: `{"requests": [...]}` with 1..MAX_FANOUT items (each parsed on its own). */
export function parseFanoutRequest(body: unknown): unknown[] {
  const obj = asObject(body, 'The request body');
  for (const key of Object.keys(obj)) if (key !== 'requests') throw invalidRequest(`Unknown field '${key}': a fanout takes only requests`, { field: key });
  if (!Array.isArray(obj.requests) || obj.requests.length === 0 || obj.requests.length > MAX_FANOUT) {
    throw invalidRequest(`requests must be an array of 1 to ${MAX_FANOUT} prediction requests`, { field: 'requests' });
  }
  return obj.requests;
}

/**
 * An optional field counts when it is there and not null: clients that serialise unset fields
 * as null (Pydantic, Jackson) mean "not given" by it.
 */
export function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidRequest(`${what} must be a JSON object`, { field: what === 'The request body' ? undefined : what });
  }
  return value as Record<string, unknown>;
}

/** A JSON value's kind, for messages about a field of the wrong type. */
function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
