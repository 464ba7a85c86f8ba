import { defineConsumer, type ConsumedEvent, type CounterOp } from '@pushtech/consumer-kit';

/** The dimensions counted, each a Redis hash `<prefix>:metadata_counter:<dimension>`. */
export const metadataDimensions = {
  country: (e: ConsumedEvent) => e.meta.country,
  os: (e: ConsumedEvent) => e.meta.os,
  browser: (e: ConsumedEvent) => e.meta.browser,
  device: (e: ConsumedEvent) => e.meta.type,
} as const;

/**
 * Counts events by country, OS, browser and device type (field = the value, `unknown` when
 * empty). It keeps no IP addresses: the original's per-IP keys were personal data.
 */
export const metadataCounter = defineConsumer({
  name: 'metadata_counter',
  redis: true,
  async handleBatch(events, ctx) {
    await ctx.dedup.applyOnce(events, (e) =>
      Object.entries(metadataDimensions).map(([dimension, valueOf]): CounterOp => ({
        kind: 'hincrby',
        key: `${ctx.keyPrefix}:${dimension}`,
        field: valueOf(e) || 'unknown',
        by: 1,
      })),
    );
  },
});
