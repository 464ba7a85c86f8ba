import { defineConsumer } from '@pushtech/consumer-kit';
import { setting } from '@pushtech/runtime';
import { minuteOf } from '../time-buckets.js';

/**
 * Counts events per type, in total and per minute of receive time, in Redis hashes:
 * `<prefix>:event_counter:total` and `<prefix>:event_counter:minute:<minute start ms>`
 * (field = event type). Exact under replay: ctx.dedup applies each event once (a redelivery is
 * skipped by its offset, a kafkastore replay by its id).
 */
export const eventCounter = defineConsumer({
  name: 'event_counter',
  redis: true,
  settings: {
    /** How long a per-minute count hash is kept in Redis. */
    EVENT_COUNTER_MINUTE_TTL_SECONDS: setting.integer({ min: 60, max: 365 * 86_400, default: 2 * 86_400 }),
  },
  async handleBatch(events, ctx) {
    const total = `${ctx.keyPrefix}:total`;
    const minuteKey = (ms: number): string => `${ctx.keyPrefix}:minute:${minuteOf(ms)}`;
    const minutes = [...new Set(events.map((e) => minuteKey(e.receivedAt)))];
    await ctx.dedup.applyOnce(
      events,
      (e) => [
        { kind: 'hincrby', key: total, field: e.type, by: 1 },
        { kind: 'hincrby', key: minuteKey(e.receivedAt), field: e.type, by: 1 },
      ],
      minutes.map((key) => ({ key, seconds: ctx.config.EVENT_COUNTER_MINUTE_TTL_SECONDS })),
    );
  },
});
