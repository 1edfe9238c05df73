import { RegistryError, RegistryErrorCode } from './registry.error';
import { ModelListFilter } from './models.repository';
import { Labels } from './entities/model.entity';
import { parseLabels } from './labels';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/**
 * Parses `GET /v1/models` query parameters: `segment.<key>=…`, `tag.<key>=…`, `q`, `limit`,
 * `cursor`. Unknown parameters answer 400 so a typo never silently widens a listing.
 */
export function parseModelListQuery(query: Record<string, unknown>): ModelListFilter {
  // Without a prototype, so that `tag.__proto__` becomes a key (which parseLabels refuses)
  // rather than silently dropping the filter and widening the listing.
  const segment = Object.create(null) as Labels;
  const tags = Object.create(null) as Labels;
  let q: string | undefined;
  let limit = DEFAULT_PAGE_SIZE;
  let after: string | undefined;
  for (const [key, raw] of Object.entries(query)) {
    if (Array.isArray(raw)) throw invalid(`Query parameter '${key}' is given more than once`, key);
    const value = String(raw);
    if (key.startsWith('segment.')) segment[key.slice('segment.'.length)] = value;
    else if (key.startsWith('tag.')) tags[key.slice('tag.'.length)] = value;
    else if (key === 'q') q = value || undefined;
    else if (key === 'limit') limit = parseLimit(value);
    else if (key === 'cursor') after = value ? decodeCursor(value) : undefined;
    else throw invalid(`Unknown query parameter '${key}': use segment.<key>, tag.<key>, q, limit or cursor`, key);
  }
  parseLabels('segment', segment);
  parseLabels('tag', tags);
  return { segment: { ...segment }, tags: { ...tags }, q, limit, after };
}

export function encodeCursor(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new RegistryError(RegistryErrorCode.InvalidCursor, 'The cursor is not one this service handed out', { parameter: 'cursor' });
}

function parseLimit(value: string): number {
  const n = /^[0-9]{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE_SIZE)) throw invalid(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
  return n;
}

function invalid(message: string, parameter: string): RegistryError {
  return new RegistryError(RegistryErrorCode.InvalidRequest, message, { parameter });
}
