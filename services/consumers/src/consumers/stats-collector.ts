import { defineConsumer } from '@pushtech/consumer-kit';
import { setting } from '@pushtech/runtime';
import { minuteOf } from '../time-buckets.js';

/** Upper bounds (ms) of the klag histogram buckets; `inf` holds the rest. */
export const klagBucketsMs = [0, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;

function bucketOf(klag: number): string {
  const bound = klagBucketsMs.find((b) => klag <= b);
  return bound === undefined ? 'le_inf' : `le_${bound}`;
}

/** The percentile as the upper bound of the bucket holding it (what a histogram can tell). */
export function percentileFromBuckets(buckets: ReadonlyMap<string, number>, count: number, p: number): string {
  const rank = Math.ceil((p / 100) * count);
  let seen = 0;
  for (const bound of klagBucketsMs) {
    seen += buckets.get(`le_${bound}`) ?? 0;
    if (seen >= rank) return String(bound);
  }
  return 'inf';
}

/**
 * Per-minute throughput and klag percentiles as a time series kafidx can read (docs/consumers.md):
 * `<prefix>:stats_collector:minutes` (sorted set, score = member = minute start ms) and one hash
 * per minute `<prefix>:stats_collector:minute:<ms>` with `count`, `klag_sum`, the bucket counts
 * `le_<ms>`, and `p50` `p90` `p99` `mean` recomputed after each batch.
 */
export const statsCollector = defineConsumer({
  name: 'stats_collector',
  redis: true,
  settings: {
    /** How long a minute's statistics are kept in Redis. */
    STATS_RETENTION_SECONDS: setting.integer({ min: 60, max: 365 * 86_400, default: 7 * 86_400 }),
  },
  async handleBatch(events, ctx) {
    const index = `${ctx.keyPrefix}:minutes`;
    const minuteKey = (minute: number): string => `${ctx.keyPrefix}:minute:${minute}`;
    const minutes = [...new Set(events.map((e) => minuteOf(e.receivedAt)))];
    const retention = ctx.config.STATS_RETENTION_SECONDS;
    await ctx.dedup.applyOnce(
      events,
      (e) => {
        const key = minuteKey(minuteOf(e.receivedAt));
        return [
          { kind: 'hincrby', key, field: 'count', by: 1 },
          { kind: 'hincrby', key, field: 'klag_sum', by: e.meta.klag },
          { kind: 'hincrby', key, field: bucketOf(e.meta.klag), by: 1 },
        ];
      },
      minutes.map((m) => ({ key: minuteKey(m), seconds: retention })),
    );
    // Derived fields: recomputed from the counts, so a replay or a concurrent batch only refreshes them.
    const pipeline = ctx.redis.pipeline();
    for (const minute of minutes) pipeline.hgetall(minuteKey(minute));
    const results = (await pipeline.exec()) ?? [];
    const update = ctx.redis.multi();
    // The index once per minute of the batch, not once per event: adding a minute twice is harmless.
    for (const minute of minutes) update.zadd(index, minute, String(minute));
    results.forEach(([error, value], i) => {
      if (error) throw error;
      const minute = minutes[i] as number;
      const fields = new Map(Object.entries(value as Record<string, string>).map(([k, v]) => [k, Number(v)]));
      const count = fields.get('count') ?? 0;
      if (count === 0) return;
      update.hset(minuteKey(minute), {
        p50: percentileFromBuckets(fields, count, 50),
        p90: percentileFromBuckets(fields, count, 90),
        p99: percentileFromBuckets(fields, count, 99),
        mean: ((fields.get('klag_sum') ?? 0) / count).toFixed(1),
      });
    });
    update.zremrangebyscore(index, '-inf', Date.now() - retention * 1000);
    await update.exec();
  },
});
