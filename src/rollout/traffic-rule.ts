import { createHash } from 'node:crypto';

export interface SplitShare {
  version: number;
  /** Percent of requests, 0–100; a rule's shares sum to 100. */
  weight: number;
}

export interface MirrorRule {
  version: number;
  percent: number;
}

/** A model's traffic rule as serving uses it, from memory. */
export interface TrafficRule {
  modelId: string;
  tenantId: string;
  split: SplitShare[];
  mirror: MirrorRule | null;
  updatedAt: Date;
  updatedBy: string;
}

/**
 * Picks the split's version for one request. With a routing key the choice is a hash of the
 * model and the key, so one key always lands on one version while the rule stands; without
 * one it is random. Null when the rule has no split (mirror only).
 */
export function pickSplitVersion(rule: TrafficRule, routingKey: string | undefined, random: () => number = Math.random): number | null {
  if (!rule.split.length) return null;
  const point = (routingKey === undefined ? random() : stableFraction(`${rule.modelId}:${routingKey}`)) * 100;
  let cumulative = 0;
  let lastServing = rule.split[0].version;
  for (const share of rule.split) {
    if (share.weight <= 0) continue;
    cumulative += share.weight;
    lastServing = share.version;
    if (point < cumulative) return share.version;
  }
  // Weights may sum to a hair under 100 (a rule is accepted within 1e-6): the point beyond goes
  // to the last version with a weight, never to one the rule gives 0 %.
  return lastServing;
}

/** Whether this request is mirrored (random: mirroring is sampling, not routing). */
export function shouldMirror(rule: TrafficRule, random: () => number = Math.random): boolean {
  return rule.mirror !== null && random() * 100 < rule.mirror.percent;
}

/** A uniform number in [0, 1) from a string. */
export function stableFraction(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}
