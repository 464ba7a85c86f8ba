import { hostname } from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  commonSettings,
  deepFreeze,
  kafkaSettings,
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
  KAFKASTORE_HOST: setting.string({ default: '0.0.0.0' }),
  KAFKASTORE_PORT: setting.port({ default: 8381, allowZero: true }),
  /** Most entries moved from Redis and produced to Kafka in one round. */
  KAFKASTORE_BATCH: setting.integer({ min: 1, max: 5_000, default: 500 }),
  /** Names this instance's processing list, so instances sharing one Redis never replay each other's batch. */
  KAFKASTORE_INSTANCE: setting.string({
    default: hostname(),
    pattern: /^[A-Za-z0-9:._{}-]{1,100}$/,
    accepts: 'an instance id ([A-Za-z0-9:._{}-], 1-100 chars)',
  }),
  /** Sidecar mode: on SIGTERM empty the incoming list first (the pod's Redis dies with the pod). */
  KAFKASTORE_DRAIN_ON_EXIT: setting.boolean({ default: false }),
  KAFKASTORE_DRAIN_TIMEOUT_MS: setting.integer({ min: 100, max: 600_000, default: 20_000 }),
  /** Drain on exit ends only after the list stayed empty this long (the tracker may still be finishing). */
  KAFKASTORE_DRAIN_QUIET_MS: setting.integer({ min: 0, max: 60_000, default: 1_000 }),
  /** Longest pause between two produce attempts while Kafka is unavailable. */
  KAFKASTORE_RETRY_MAX_MS: setting.integer({ min: 10, max: 60_000, default: 5_000 }),
  /**
   * MaxMind-format databases (.mmdb), comma-separated, tried in order (DB-IP Lite ships one
   * file for IPv4 and one for IPv6). Relative paths are resolved against the directory of the
   * .env file the defaults came from, else the working directory. Empty: GeoIP off.
   */
  GEOIP_DB: setting.list({ accepts: 'a comma-separated list of .mmdb file paths' }),
  /** How often the GeoIP files are checked for a new version. */
  GEOIP_WATCH_INTERVAL_MS: setting.integer({ min: 100, max: 3_600_000, default: 10_000 }),
  GEOIP_CACHE_SIZE: setting.integer({ min: 1, max: 10_000_000, default: 100_000 }),
  UA_CACHE_SIZE: setting.integer({ min: 1, max: 10_000_000, default: 10_000 }),
  /** `truncate`: zero the last IPv4 octet / the last 80 IPv6 bits after the GeoIP lookup. */
  IP_ANONYMIZE: setting.oneOf(['none', 'truncate'], { default: 'none' }),
  /**
   * Largest message kafkastore sends; a bigger event is dead-lettered (with its entry cut
   * short) instead of being refused by the broker again and again. Keep it below the topic's
   * max.message.bytes (1 MB by default).
   */
  KAFKASTORE_MAX_MESSAGE_BYTES: setting.integer({ min: 1_024, max: 100_000_000, default: 1_000_000 }),
  /** The params field whose value becomes the Kafka message key (e.g. deviceid); empty: no key. */
  KAFKA_PARTITION_KEY: setting.string({ default: '', pattern: /^.{0,200}$/, accepts: 'a params field name' }),
} as const;

export type KafkastoreConfig = ConfigOf<typeof kafkastoreSettings>;

/**
 * Parses the environment once. `baseDir` anchors relative GEOIP_DB paths; cross-field rules
 * are checked here so a bad combination also stops the service naming the variable.
 */
export function kafkastoreConfig(env: Env, options: { baseDir: string }): KafkastoreConfig {
  const parsed = parseConfig('kafkastore', kafkastoreSettings, env);
  if (parsed.KAFKASTORE_DRAIN_ON_EXIT && parsed.KAFKASTORE_DRAIN_TIMEOUT_MS >= parsed.SHUTDOWN_TIMEOUT_MS) {
    throw new ConfigError('kafkastore', [
      `KAFKASTORE_DRAIN_TIMEOUT_MS=${parsed.KAFKASTORE_DRAIN_TIMEOUT_MS}: must be below SHUTDOWN_TIMEOUT_MS ` +
        `(${parsed.SHUTDOWN_TIMEOUT_MS}), or the drain is cut short by the shutdown timer`,
    ]);
  }
  const geoipDb = parsed.GEOIP_DB.map((file) => path.resolve(options.baseDir, file));
  return deepFreeze({ ...parsed, GEOIP_DB: geoipDb });
}

/** This instance's processing list: where a batch waits until Kafka acknowledged it. */
export function processingKey(config: Pick<KafkastoreConfig, 'REDIS_QUEUE_KEY' | 'KAFKASTORE_INSTANCE'>): string {
  return `${config.REDIS_QUEUE_KEY}:processing:${config.KAFKASTORE_INSTANCE}`;
}
