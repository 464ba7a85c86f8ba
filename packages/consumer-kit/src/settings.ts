import { commonSettings, kafkaSettings, setting, type ConfigOf } from '@pushtech/runtime';

/** The environment variables every consumer process reads (the service adds its own). */
export const consumerKitSettings = {
  ...commonSettings,
  ...kafkaSettings,
  /** Needed only when a selected consumer declares `redis: true`. */
  REDIS_URL: setting.url({ protocols: ['redis:', 'rediss:'], default: '' }),
  /** Retries of a failing batch (and then of each event alone) before an event is dead-lettered. */
  CONSUMER_MAX_RETRIES: setting.integer({ min: 0, max: 100, default: 5 }),
  CONSUMER_RETRY_BACKOFF_MS: setting.integer({ min: 0, max: 60_000, default: 200 }),
  CONSUMER_RETRY_BACKOFF_MAX_MS: setting.integer({ min: 0, max: 600_000, default: 10_000 }),
  /** Where a consumer group without committed offsets starts. */
  CONSUMER_FROM_BEGINNING: setting.boolean({ default: true }),
  /** The group id when exactly one consumer runs; otherwise `<KAFKA_CLIENT_ID>-<name>`. */
  CONSUMER_GROUP_ID: setting.string({
    default: '',
    pattern: /^[A-Za-z0-9._-]{0,200}$/,
    accepts: 'a consumer group id ([A-Za-z0-9._-]); empty means <KAFKA_CLIENT_ID>-<consumer name>',
  }),
  /** A member silent this long is dropped from its group and its partitions move (after a kill -9). */
  CONSUMER_SESSION_TIMEOUT_MS: setting.integer({ min: 6_000, max: 300_000, default: 30_000 }),
  /** Partitions one consumer handles at the same time. */
  CONSUMER_CONCURRENCY: setting.integer({ min: 1, max: 64, default: 1 }),
  /** How long an event id is remembered by the dedup helper. */
  CONSUMER_DEDUP_WINDOW_SECONDS: setting.integer({ min: 1, max: 30 * 86_400, default: 3_600 }),
  /** Namespace of every Redis key the consumers write: `<prefix>:<consumer>:...`. */
  CONSUMER_KEY_PREFIX: setting.string({
    default: 'pushtech',
    pattern: /^[A-Za-z0-9:._{}-]{1,100}$/,
    accepts: 'a Redis key prefix ([A-Za-z0-9:._{}-], 1-100 chars)',
  }),
} as const;

export type ConsumerKitConfig = ConfigOf<typeof consumerKitSettings>;
