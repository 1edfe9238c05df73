import { CommonError, CommonErrorCode } from '../common/domain-error';
import { RolloutError, RolloutErrorCode } from './rollout.error';
import { MirrorRule, SplitShare } from './traffic-rule';
import { parseLabels } from '../registry/labels';
import { asVersionNumber, VERSION_RANGE } from '../registry/names';
import type { Labels } from '../registry/entities/model.entity';
import { isUuid } from '../common/uuid';

/** Bulk rollouts: which models (all conditions must hold). */
export interface ModelSelector {
  segment: Labels;
  tags: Labels;
  q?: string;
}

export type RolloutRequest = { kind: 'alias'; alias: string; selector: ModelSelector } | { kind: 'mirror'; percent: number; selector: ModelSelector };

/** `{"split": {"3": 90, "4": 10}, "mirror": {"version": 5, "percent": 20}}` → checked shares. */
export function parseTrafficBody(body: unknown): { split: SplitShare[]; mirror: MirrorRule | null } {
  const obj = asObject(body, 'The request body');
  rejectUnknown(obj, ['split', 'mirror']);
  const split: SplitShare[] = [];
  if (obj.split !== undefined && obj.split !== null) {
    const raw = asObject(obj.split, 'split');
    for (const [key, weight] of Object.entries(raw)) {
      const version = /^[1-9][0-9]*$/.test(key) ? asVersionNumber(key) : undefined;
      if (version === undefined) throw invalid(`split key '${key}' must be a version number (${VERSION_RANGE})`, { field: 'split' });
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
        throw invalid(`split weight of version ${key} must be a number from 0 to 100`, { field: 'split' });
      }
      split.push({ version, weight });
    }
    const total = split.reduce((sum, s) => sum + s.weight, 0);
    if (!split.length || Math.abs(total - 100) > 1e-6) throw invalid(`split weights must sum to 100 (they sum to ${total})`, { field: 'split', total });
    split.sort((a, b) => a.version - b.version);
  }
  let mirror: MirrorRule | null = null;
  if (obj.mirror !== undefined && obj.mirror !== null) {
    const m = asObject(obj.mirror, 'mirror');
    rejectUnknown(m, ['version', 'percent']);
    const version = typeof m.version === 'number' ? asVersionNumber(m.version) : undefined;
    if (version === undefined) throw invalid(`mirror.version must be a version number (${VERSION_RANGE})`, { field: 'mirror.version' });
    mirror = { version, percent: parsePercent(m.percent, 'mirror.percent') };
  }
  if (!split.length && !mirror) throw invalid('Give a split, a mirror or both (DELETE removes the rule)', { field: 'split' });
  return { split, mirror };
}

export function parseRolloutBody(body: unknown): RolloutRequest {
  const obj = asObject(body, 'The request body');
  const selector = parseSelector(obj.selector);
  if (obj.kind === 'alias') {
    rejectUnknown(obj, ['kind', 'alias', 'selector', 'to']);
    if (obj.to !== undefined && obj.to !== 'latest') throw invalid("to must be 'latest' (each model's latest version)", { field: 'to' });
    if (typeof obj.alias !== 'string') throw invalid('alias is required', { field: 'alias' });
    return { kind: 'alias', alias: obj.alias, selector };
  }
  if (obj.kind === 'mirror') {
    rejectUnknown(obj, ['kind', 'percent', 'selector', 'to']);
    if (obj.to !== undefined && obj.to !== 'latest') throw invalid("to must be 'latest' (each model's latest version)", { field: 'to' });
    return { kind: 'mirror', percent: parsePercent(obj.percent, 'percent'), selector };
  }
  throw invalid("kind must be 'alias' (move an alias to each model's latest version) or 'mirror' (mirror to each model's latest version)", { field: 'kind' });
}

/** GET /v1/rollouts: newest first, `limit` (1–100, default 100) a page, `cursor` the previous page's `nextCursor`. */
export interface RolloutListQuery {
  limit: number;
  /** The id of the last rollout of the previous page. */
  after?: string;
}

export const ROLLOUT_PAGE_MAX = 100;

export function parseRolloutListQuery(query: Record<string, unknown>): RolloutListQuery {
  for (const key of Object.keys(query)) {
    if (key !== 'limit' && key !== 'cursor') throw listInvalid(`Unknown query parameter '${key}': use limit or cursor`, key);
  }
  const limit = query.limit === undefined ? ROLLOUT_PAGE_MAX : typeof query.limit === 'string' && /^[0-9]{1,4}$/.test(query.limit) ? Number(query.limit) : NaN;
  if (!(limit >= 1 && limit <= ROLLOUT_PAGE_MAX)) throw listInvalid(`limit must be an integer from 1 to ${ROLLOUT_PAGE_MAX}`, 'limit');
  if (query.cursor === undefined) return { limit };
  const after = typeof query.cursor === 'string' ? Buffer.from(query.cursor, 'base64url').toString('utf8') : '';
  if (!isUuid(after)) throw new RolloutError(RolloutErrorCode.InvalidCursor, 'The cursor is not one this service handed out', { parameter: 'cursor' });
  return { limit, after };
}

export function rolloutCursor(lastId: string): string {
  return Buffer.from(lastId).toString('base64url');
}

function listInvalid(message: string, parameter: string): CommonError {
  return new CommonError(CommonErrorCode.InvalidRequest, message, { parameter });
}

function parseSelector(raw: unknown): ModelSelector {
  const obj = asObject(raw ?? {}, 'selector');
  rejectUnknown(obj, ['segment', 'tags', 'q']);
  const segment = obj.segment === undefined ? {} : (parseLabels('selector.segment', obj.segment) as Labels);
  const tags = obj.tags === undefined ? {} : (parseLabels('selector.tags', obj.tags) as Labels);
  if (obj.q !== undefined && typeof obj.q !== 'string') throw invalid('selector.q must be a string', { field: 'selector.q' });
  if (!Object.keys(segment).length && !Object.keys(tags).length && !obj.q) {
    throw invalid('selector must name segment keys, tags or q: a rollout never touches every model by accident', { field: 'selector' });
  }
  return { segment, tags, q: obj.q as string | undefined };
}

function parsePercent(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 100) throw invalid(`${field} must be a number above 0 and at most 100`, { field });
  return value;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be a JSON object`, {});
  return value as Record<string, unknown>;
}

function rejectUnknown(obj: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) throw invalid(`Unknown field '${key}'`, { field: key });
}

function invalid(message: string, details: Record<string, unknown>): RolloutError {
  return new RolloutError(RolloutErrorCode.InvalidRule, message, details);
}
