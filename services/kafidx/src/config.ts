import { commonSettings, kafkaSettings, parseConfig, setting, type ConfigOf, type Env } from '@pushtech/runtime';

export const kafidxSettings = {
  ...commonSettings,
  KAFKA_BROKERS: kafkaSettings.KAFKA_BROKERS,
  KAFKA_TOPIC: kafkaSettings.KAFKA_TOPIC,
  KAFKA_CLIENT_ID: kafkaSettings.KAFKA_CLIENT_ID,
  KAFIDX_HOST: setting.string({ default: '0.0.0.0' }),
  KAFIDX_PORT: setting.port({ default: 8390, allowZero: true }),
  /** The dashboard's access token; required in production, generated for local runs. */
  KAFIDX_TOKEN: setting.string({
    default: '',
    pattern: /^$|^[\x21-\x7e]{16,256}$/,
    accepts: '16-256 printable ASCII characters',
  }),
  /** Origins allowed to open the WebSocket besides the dashboard's own. */
  KAFIDX_ALLOWED_ORIGINS: setting.list({ accepts: 'a comma-separated list of origins (https://ops.example.com)' }),
  /** Mark the session cookie Secure (when served over HTTPS, e.g. behind a TLS ingress). */
  KAFIDX_COOKIE_SECURE: setting.boolean({ default: false }),
  /** Above this many events per second a browser gets a sample, and is told so. */
  KAFIDX_MAX_EVENTS_PER_SECOND: setting.integer({ min: 1, max: 1_000_000, default: 500 }),
  /** A browser whose unsent data exceeds this is skipped (and told how many) until it catches up. */
  KAFIDX_MAX_BUFFERED_BYTES: setting.integer({ min: 16 * 1024, max: 1024 * 1024 * 1024, default: 1024 * 1024 }),
  KAFIDX_REPLAY_MAX_MINUTES: setting.integer({ min: 1, max: 7 * 24 * 60, default: 60 }),
  KAFIDX_REPLAY_MAX_EVENTS: setting.integer({ min: 1, max: 10_000_000, default: 20_000 }),
} as const;

export type KafidxConfig = ConfigOf<typeof kafidxSettings>;

export function kafidxConfig(env: Env): KafidxConfig {
  return parseConfig('kafidx', kafidxSettings, env);
}
