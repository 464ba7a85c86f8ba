import { commonSettings, kafkaSettings, setting, type ConfigOf } from '@pushtech/runtime';

/** The environment variables every consumer process reads (the service adds its own). */
export const consumerKitSettings = {
  ...commonSettings,
  ...kafkaSettings,
  /** Needed only when a selected consumer declares `redis: true`. */
  REDIS_URL: setting.url({ protocols: ['redis:', 'rediss:'], default: '' }),
  /** Retries of a failing batch (and then of each event alone) before an event is dead-lettered. */
  CONSUMER_MAX_RETRIES: setting.integer({ min: 0, max: 100, default: 5 }),
  /** First pause before a failed batch is retried; it doubles on each retry (with jitter). */
  CONSUMER_RETRY_BACKOFF_MS: setting.integer({ min: 0, max: 60_000, default: 200 }),
  /** Longest pause between two retries of a failed batch. */
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
  /**
   * Longest time the broker holds a fetch that found nothing new (a long poll): how often an idle
   * consumer asks the broker. An event that arrives meanwhile is answered at once (with
   * CONSUMER_FETCH_MIN_BYTES 1), so this is no latency bound.
   */
  CONSUMER_FETCH_MAX_WAIT_MS: setting.integer({ min: 1, max: 10_000, default: 2_000 }),
  /**
   * Bytes a fetch waits for (up to CONSUMER_FETCH_MAX_WAIT_MS) before the broker answers; 1
   * answers as soon as one event is there (batching at moderate rates is CONSUMER_FETCH_LINGER_MS's).
   */
  CONSUMER_FETCH_MIN_BYTES: setting.integer({ min: 1, max: 16 * 1024 * 1024, default: 1 }),
  /**
   * Most bytes one fetch brings of one partition (Kafka's max.partition.fetch.bytes): while a
   * backlog is read, a handler call holds a fetch's events of every partition at once, so this
   * bounds its batch and memory (256 KiB: about 600 events a partition). A larger event still
   * comes whole.
   */
  CONSUMER_FETCH_MAX_PARTITION_BYTES: setting.integer({
    min: 1024,
    max: 64 * 1024 * 1024,
    default: 256 * 1024,
  }),
  /**
   * After a fetch that brought events and left no backlog, the next fetch goes out this much later,
   * so a batch holds the events of this long at moderate rates (at 1,000 events/s about 100 per
   * fetch instead of a few): the most an event waits here. A backlog never waits. 0: no linger.
   */
  CONSUMER_FETCH_LINGER_MS: setting.integer({ min: 0, max: 10_000, default: 100 }),
  /**
   * Handled offsets are committed at most this often (0: after every batch), never before the
   * handler resolved, at the latest this long after, and at once on a graceful stop. A crash
   * re-delivers what was handled since the last commit (dedup skips it by its offset).
   */
  CONSUMER_COMMIT_INTERVAL_MS: setting.integer({ min: 0, max: 60_000, default: 1_000 }),
  /**
   * Handler calls one consumer runs at the same time. A call holds every partition's batch that
   * was ready together (a fetch's, and those that came while the previous call ran).
   */
  CONSUMER_CONCURRENCY: setting.integer({ min: 1, max: 64, default: 1 }),
  /**
   * How long the dedup helper remembers an event id at least (up to a fifth longer), for the same
   * event under a new offset: a kafkastore replay comes within its lease TTL (15 s, at most 300 s)
   * after a restart, and a crash-looping pod restarts within 5 minutes (Kubernetes' longest back-off).
   * A Kafka redelivery is skipped by its offset, whatever the window. Memory: about 10 bytes per
   * id remembered, so 11-12 kB per event/s per consumer at 900 s (docs/deploy.md, capacity plan).
   */
  CONSUMER_DEDUP_WINDOW_SECONDS: setting.integer({ min: 1, max: 30 * 86_400, default: 900 }),
  /** Namespace of every Redis key the consumers write: `<prefix>:<consumer>:...`. */
  CONSUMER_KEY_PREFIX: setting.string({
    default: 'pushtech',
    pattern: /^[A-Za-z0-9:._{}-]{1,100}$/,
    accepts: 'a Redis key prefix ([A-Za-z0-9:._{}-], 1-100 chars)',
  }),
} as const;

export type ConsumerKitConfig = ConfigOf<typeof consumerKitSettings>;
