import { RegistryError, RegistryErrorCode } from './registry.error';
import { Labels } from './entities/model.entity';

const LABEL_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
const MAX_LABELS = 64;
const MAX_VALUE_LENGTH = 256;

/**
 * Segments and tags are flat string maps (`{"region":"north","store":"0042"}`): strings so
 * that "0042" stays "0042" and matching is exact. `field` names the part in errors.
 */
export function parseLabels(field: string, value: unknown, { allowNull = false } = {}): Record<string, string | null> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(field, `${field} must be a JSON object of strings, e.g. {"region":"north"}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw invalid(field, `${field} has more than ${MAX_LABELS} keys`);
  for (const [key, v] of entries) {
    if (!LABEL_KEY.test(key)) throw invalid(field, `${field} key '${key}' must match ${LABEL_KEY.source}`);
    // Assigning it to a plain object sets the prototype instead of a key: it would vanish from
    // tags, and a `tag.__proto__` filter would match everything.
    if (key === '__proto__') throw invalid(field, `${field} key '__proto__' is reserved`);
    if (v === null && allowNull) continue;
    if (typeof v !== 'string') throw invalid(field, `${field}.${key} must be a string (got ${v === null ? 'null' : typeof v})`);
    if (v.length > MAX_VALUE_LENGTH) throw invalid(field, `${field}.${key} is longer than ${MAX_VALUE_LENGTH} characters`);
  }
  return value as Record<string, string | null>;
}

/** Parses a multipart text field holding JSON labels. */
export function parseLabelsField(field: string, text: string | undefined): Labels | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(field, `${field} is not valid JSON`);
  }
  return parseLabels(field, parsed) as Labels;
}

/**
 * A model's labels after a merge (a PATCH, an upload's tags) keep to the limit each request
 * keeps to: merges of 64 new keys at a time would otherwise grow them without bound.
 */
export function assertMergedLabelCount(field: string, merged: Labels): void {
  const count = Object.keys(merged).length;
  if (count > MAX_LABELS) {
    throw invalid(field, `The model's ${field} would have ${count} keys, more than ${MAX_LABELS}: remove some first (PATCH with {"${field}":{"<key>":null}})`);
  }
}

/** JSON merge patch (RFC 7386) on a flat map: null removes a key, a string sets it. */
export function mergeLabels(current: Labels, patch: Record<string, string | null>): Labels {
  const merged: Labels = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

function invalid(field: string, message: string): RegistryError {
  return new RegistryError(RegistryErrorCode.InvalidRequest, message, { field });
}
