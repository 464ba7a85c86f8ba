import type { KafkastoreMetrics } from './metrics.js';

/** Counts hits and misses of one enrichment cache; the null object counts nothing. */
export interface CacheStats {
  hit(): void;
  miss(): void;
}

export const uncountedCache: CacheStats = { hit: () => undefined, miss: () => undefined };

export function cacheStats(metrics: KafkastoreMetrics, cache: 'ua' | 'geoip'): CacheStats {
  // Bound children: the label lookup happens once, not per event.
  const hits = metrics.cacheLookups.labels(cache, 'hit');
  const misses = metrics.cacheLookups.labels(cache, 'miss');
  return { hit: () => hits.inc(), miss: () => misses.inc() };
}
