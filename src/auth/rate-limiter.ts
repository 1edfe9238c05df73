/**
 * Per-tenant token buckets (per process): a tenant may burst up to one second's worth of
 * requests, then is held to its rate. `take` answers how many seconds to wait when denied.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one request from the tenant's bucket; returns 0 if allowed, else seconds until one is. */
  take(tenantId: string, perSecond: number): number {
    if (perSecond <= 0) return 0;
    const now = this.now();
    const bucket = this.buckets.get(tenantId) ?? { tokens: perSecond, updatedAt: now };
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = now;
    this.buckets.set(tenantId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }
}
