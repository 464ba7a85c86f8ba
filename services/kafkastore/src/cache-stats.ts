import type { KafkastoreMetrics } from './metrics.js';

/** Counts hits and misses of one enrichment cache; the null object counts nothing. */
export interface CacheStats {
  hit(): void;
  miss(): void;
}

export const uncountedCache: CacheStats = { hit: () => undefined, miss: () => undefined };

export function cacheStats(metrics: KafkastoreMetrics, cache: 'ua' | 'geoip'): CacheStats {
  const { hit: hits, miss: misses } = metrics.cacheCells[cache];
  return {
    hit: () => void hits.n++,
    miss: () => void misses.n++,
  };
}
