import type { Labels } from '../registry/entities/model.entity';

export interface SegmentCandidate {
  name: string;
  segment: Labels;
}

/** A model's segment matches a request when every key of the model's segment has the request's value. */
export function segmentMatches(modelSegment: Labels, request: Labels): boolean {
  const keys = Object.keys(modelSegment);
  if (keys.length === 0) return false; // a model without a segment is never picked by segment
  for (const key of keys) if (request[key] !== modelSegment[key]) return false;
  return true;
}

/**
 * The most specific matching model: the one whose segment has the most keys (so a store's own
 * model beats its region's); among equally specific ones, the smallest name in code-point order.
 */
export function pickSegmentMatch<C extends SegmentCandidate>(request: Labels, candidates: readonly C[]): C | null {
  let best: C | null = null;
  let bestKeys = 0;
  for (const candidate of candidates) {
    if (!segmentMatches(candidate.segment, request)) continue;
    const keys = Object.keys(candidate.segment).length;
    if (!best || keys > bestKeys || (keys === bestKeys && candidate.name < best.name)) {
      best = candidate;
      bestKeys = keys;
    }
  }
  return best;
}

/** Order-independent cache key of a request's segment. */
export function segmentKey(segment: Labels): string {
  return JSON.stringify(Object.keys(segment).sort().map((k) => [k, segment[k]]));
}
