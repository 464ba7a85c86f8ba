import { hostname } from 'node:os';
import {
  ConfigError,
  commonSettings,
  kafkaSettings,
  messageSettings,
  parseConfig,
  redisSettings,
  setting,
  type ConfigOf,
  type Env,
} from '@pushtech/runtime';

export const kafkastoreSettings = {
  ...commonSettings,
  ...redisSettings,
  ...kafkaSettings,
  ...messageSettings,
  /** Address the ops listener (/healthz, /readyz, /metrics) binds to. */
  KAFKASTORE_HOST: setting.string({ default: '0.0.0.0' }),
  /** Port of the ops listener; 0 picks a free one. */
  KAFKASTORE_PORT: setting.port({ default: 8381, allowZero: true }),
  /** Most entries moved from Redis and produced to Kafka in one round. */
  KAFKASTORE_BATCH: setting.integer({ min: 1, max: 5_000, default: 500 }),
  /**
   * How long a batch smaller than KAFKASTORE_BATCH may wait for more events before it is
   * produced: at moderate rates each produce request then carries the events of this long
   * instead of the few of one round trip. An event reaches Kafka at most this much later; a full
   * batch, a backlog and the drain on exit never wait. 0: no wait.
   */
  KAFKASTORE_LINGER_MS: setting.integer({ min: 0, max: 1_000, default: 20 }),
  /**
   * Names this instance's processing list, so instances sharing one Redis never replay each
   * other's batch. Unique per instance: a second one with the same name refuses to start.
   */
  KAFKASTORE_INSTANCE: setting.string({
    default: hostname(),
    pattern: /^[A-Za-z0-9:._{}-]{1,100}$/,
    accepts: 'an instance id ([A-Za-z0-9:._{}-], 1-100 chars)',
  }),
  /** Sidecar mode: on SIGTERM empty the incoming list first (the pod's Redis dies with the pod). */
  KAFKASTORE_DRAIN_ON_EXIT: setting.boolean({ default: false }),
  /** Longest drain on exit; must be below SHUTDOWN_TIMEOUT_MS when the drain is on. */
  KAFKASTORE_DRAIN_TIMEOUT_MS: setting.integer({ min: 100, max: 600_000, default: 20_000 }),
  /**
   * Fallback for trackers that hold no writer lease: unless one was seen, the drain on exit ends
   * only after the list stayed empty this long (such a tracker may still be finishing).
   */
  KAFKASTORE_DRAIN_QUIET_MS: setting.integer({ min: 0, max: 60_000, default: 1_000 }),
  /**
   * Expiry of the lease on the processing list, renewed every third of it. A restart after a
   * crash waits at most this long (plus a renewal period) for the old lease to expire.
   */
  KAFKASTORE_LEASE_TTL_MS: setting.integer({ min: 1_000, max: 300_000, default: 15_000 }),
  /**
   * false: no lease and no fence, as before issue 19: two instances with one name then send
   * most batches twice. Only for the chaos suite's negative control; never in a deployment.
   */
  KAFKASTORE_LEASE: setting.boolean({ default: true }),
  /** Longest pause between two produce attempts while Kafka is unavailable. */
  KAFKASTORE_RETRY_MAX_MS: setting.integer({ min: 10, max: 60_000, default: 5_000 }),
  /**
   * MaxMind-format databases (.mmdb), comma-separated, tried in order (DB-IP Lite ships one
   * file for IPv4 and one for IPv6). Empty: GeoIP off.
   */
  GEOIP_DB: setting.list({ accepts: 'a comma-separated list of .mmdb file paths', path: true }),
  /** How often the GeoIP files are checked for a new version. */
  GEOIP_WATCH_INTERVAL_MS: setting.integer({ min: 100, max: 3_600_000, default: 10_000 }),
  /** IP addresses whose GeoIP answer is kept in memory. */
  GEOIP_CACHE_SIZE: setting.integer({ min: 1, max: 10_000_000, default: 100_000 }),
  /** User-agent strings whose parsed device is kept in memory. */
  UA_CACHE_SIZE: setting.integer({ min: 1, max: 10_000_000, default: 10_000 }),
  /** `truncate`: zero the last IPv4 octet / the last 80 IPv6 bits after the GeoIP lookup. */
  IP_ANONYMIZE: setting.oneOf(['none', 'truncate'], { default: 'none' }),
  /** The params field whose value becomes the Kafka message key (e.g. deviceid); empty: no key. */
  KAFKA_PARTITION_KEY: setting.string({ default: '', pattern: /^.{0,200}$/, accepts: 'a params field name' }),
} as const;

export type KafkastoreConfig = ConfigOf<typeof kafkastoreSettings>;

/**
 * Parses the environment once. `baseDir` anchors relative GEOIP_DB paths when `env` was not made
 * by `loadEnv` (which records where each value came from: see `parseConfig`); cross-field rules
 * are checked here so a bad combination also stops the service naming the variable.
 */
export function kafkastoreConfig(env: Env, options: { baseDir: string }): KafkastoreConfig {
  if (env['KAFKASTORE_MAX_MESSAGE_BYTES'] !== undefined) {
    // Renamed when the tracker started refusing the same size at the edge; ignoring it silently
    // would leave the two with different limits.
    throw new ConfigError('kafkastore', [
      'KAFKASTORE_MAX_MESSAGE_BYTES is no longer read: set EVENT_MAX_MESSAGE_BYTES instead, the same for tracker and kafkastore',
    ]);
  }
  const parsed = parseConfig('kafkastore', kafkastoreSettings, env, options);
  if (parsed.KAFKASTORE_DRAIN_ON_EXIT && parsed.KAFKASTORE_DRAIN_TIMEOUT_MS >= parsed.SHUTDOWN_TIMEOUT_MS) {
    throw new ConfigError('kafkastore', [
      `KAFKASTORE_DRAIN_TIMEOUT_MS=${parsed.KAFKASTORE_DRAIN_TIMEOUT_MS}: must be below SHUTDOWN_TIMEOUT_MS ` +
        `(${parsed.SHUTDOWN_TIMEOUT_MS}), or the drain is cut short by the shutdown timer`,
    ]);
  }
  return parsed;
}

/** This instance's processing list: where a batch waits until Kafka acknowledged it. */
export function processingKey(config: Pick<KafkastoreConfig, 'REDIS_QUEUE_KEY' | 'KAFKASTORE_INSTANCE'>): string {
  return `${config.REDIS_QUEUE_KEY}:processing:${config.KAFKASTORE_INSTANCE}`;
}

/**
 * Entries Kafka could not take, not even as dead letters (larger than the dead-letter topic's
 * max.message.bytes), kept whole; re-drive one with LMOVE <this> <REDIS_QUEUE_KEY> RIGHT LEFT.
 */
export function oversizedKey(config: Pick<KafkastoreConfig, 'REDIS_QUEUE_KEY'>): string {
  return `${config.REDIS_QUEUE_KEY}:oversized`;
}
