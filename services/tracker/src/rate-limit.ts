import { ipToHex } from '@pushtech/event';

/**
 * A per-client token bucket: `ratePerSecond` sustained, `burst` at once. In memory, per process:
 * a limit against floods from one client, not an exact global quota. A client is an IPv4
 * address, or an IPv6 /64 (one subscriber's or one host's usual allocation, from which a single
 * machine can draw any number of addresses).
 */
export interface RateLimiter {
  /** The most tokens a bucket holds: a request that costs more can never be admitted. */
  readonly burst: number;
  /**
   * Takes `cost` tokens for `ip`: 0 when taken, else whole seconds until the bucket has them
   * (Infinity for more than the burst).
   */
  take(ip: string, cost: number, now?: number): number;
  /** As `take`, without taking: for a check before the request's cost is known. */
  peek(ip: string, cost: number, now?: number): number;
  /** Buckets held now (for tests and the memory bound). */
  readonly size: number;
  close(): void;
}

export const unlimited: RateLimiter = {
  burst: Number.POSITIVE_INFINITY,
  take: () => 0,
  peek: () => 0,
  size: 0,
  close: () => undefined,
};

/**
 * The most buckets kept (measured: 22.7 MiB of heap when full of IPv6 /64 keys; before the bound,
 * 1,000,000 rotated addresses took 226 MiB). Why a bound is safe: buckets are kept in
 * least-recently-used order and the oldest is dropped for a new one. A dropped bucket that was
 * idle for burst/rate seconds was full again, so dropping it forgets nothing. Only when more than
 * this many clients were active within that refill time is a partly used bucket forgotten, and
 * its client then gets at most one fresh burst, no more than any new client gets; a flooding
 * client keeps its bucket at the recent end, so it cannot rotate itself free with few addresses.
 */
export const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(ratePerSecond: number, burst: number, maxBuckets = MAX_BUCKETS): RateLimiter {
  if (ratePerSecond <= 0) return unlimited;
  // Map iteration is insertion order; a bucket is re-inserted on every use, so the first entry is
  // always the least recently used.
  const buckets = new Map<string, Bucket>();
  const refillMs = (burst / ratePerSecond) * 1000;
  const sweep = setInterval(() => {
    const cutoff = Date.now() - refillMs;
    for (const [key, b] of buckets) {
      if (b.at >= cutoff) break; // everything after this was used more recently
      buckets.delete(key);
    }
  }, 10_000);
  sweep.unref();

  const level = (bucket: Bucket | undefined, now: number): number =>
    bucket === undefined ? burst : Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
  const waitSeconds = (tokens: number, cost: number): number =>
    cost > burst ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil((cost - tokens) / ratePerSecond));

  return {
    burst,
    take(ip, cost, now = Date.now()) {
      const key = bucketKey(ip);
      const bucket = buckets.get(key);
      const tokens = level(bucket, now);
      const admitted = tokens >= cost;
      if (bucket === undefined) {
        if (buckets.size >= maxBuckets) {
          const oldest = buckets.keys().next();
          if (oldest.done !== true) buckets.delete(oldest.value);
        }
        buckets.set(key, { tokens: admitted ? tokens - cost : tokens, at: now });
      } else {
        bucket.tokens = admitted ? tokens - cost : tokens;
        bucket.at = now;
        buckets.delete(key);
        buckets.set(key, bucket);
      }
      return admitted ? 0 : waitSeconds(tokens, cost);
    },
    peek(ip, cost, now = Date.now()) {
      const tokens = level(buckets.get(bucketKey(ip)), now);
      return tokens >= cost ? 0 : waitSeconds(tokens, cost);
    },
    get size() {
      return buckets.size;
    },
    close: () => clearInterval(sweep),
  };
}

/**
 * The bucket a client address belongs to: an IPv4 address (canonical dotted text) as itself, an
 * IPv6 address by its first 64 bits. Addresses come canonical (peer or parsed forwarding header).
 */
export function bucketKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const hex = ipToHex(ip);
  if (!hex.ok) return ip;
  // The wire hex has no leading zeros: the low 64 bits are always its last 16 digits.
  return hex.value.length > 16 ? `${hex.value.slice(0, -16)}/64` : '0/64';
}
