/**
 * A per-client-IP token bucket: `ratePerSecond` sustained, `burst` at once. In memory, per
 * process: a limit against floods from one address, not an exact global quota.
 */
export interface RateLimiter {
  /** Takes `cost` tokens for `ip`; false when the client is over its limit. */
  take(ip: string, cost: number, now?: number): boolean;
  close(): void;
}

export const unlimited: RateLimiter = { take: () => true, close: () => undefined };

export function createRateLimiter(ratePerSecond: number, burst: number): RateLimiter {
  if (ratePerSecond <= 0) return unlimited;
  const buckets = new Map<string, { tokens: number; at: number }>();
  // Idle clients' buckets are full again after burst/rate seconds; forget them then.
  const sweep = setInterval(() => {
    const cutoff = Date.now() - (burst / ratePerSecond) * 1000;
    for (const [ip, b] of buckets) if (b.at < cutoff) buckets.delete(ip);
  }, 10_000);
  sweep.unref();
  return {
    take(ip, cost, now = Date.now()) {
      const bucket = buckets.get(ip) ?? { tokens: burst, at: now };
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
      bucket.at = now;
      buckets.set(ip, bucket);
      if (bucket.tokens < cost) return false;
      bucket.tokens -= cost;
      return true;
    },
    close: () => clearInterval(sweep),
  };
}
