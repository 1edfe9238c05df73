import { randomUUID } from 'node:crypto';

/**
 * Prediction ids say whether the prediction was sampled into the prediction log, so that
 * feedback for one that was not can say so (rather than a bare "not found"), at no cost:
 *
 * - sampled: a UUIDv7 (RFC 9562: 48 bits of Unix milliseconds, then random bits), which also
 *   makes the log's primary-key inserts append at the end of its index instead of landing at
 *   random places in it;
 * - not sampled: a random UUIDv4, as every prediction id was before sampling had a budget.
 *
 * Either way the id is a UUID with 74 random bits or more; nothing about the caller is in it.
 */
export function sampledPredictionId(now = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V the RFC variant
  const ms = now.toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15)}`;
}

export function unsampledPredictionId(): string {
  return randomUUID();
}

/** Whether an id was issued to a sampled prediction (its UUID version is 7). */
export function isSampledPredictionId(id: string): boolean {
  return id.length === 36 && id.charCodeAt(14) === 55; /* '7' */
}

/** When a sampled prediction was made (Unix ms, from its UUIDv7); null for any other id. */
export function sampledPredictionTime(id: string): number | null {
  if (!isSampledPredictionId(id)) return null;
  const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return Number.isFinite(ms) ? ms : null;
}
