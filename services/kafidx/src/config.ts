import {
  commonSettings,
  describeSetting,
  kafkaSecuritySettings,
  kafkaSettings,
  parseConfig,
  setting,
  type ConfigOf,
  type Env,
} from '@pushtech/runtime';
import { healthTargetPattern, healthTargets } from './health-targets.js';

export const kafidxSettings = {
  ...commonSettings,
  KAFKA_BROKERS: kafkaSettings.KAFKA_BROKERS,
  KAFKA_TOPIC: kafkaSettings.KAFKA_TOPIC,
  KAFKA_CLIENT_ID: kafkaSettings.KAFKA_CLIENT_ID,
  KAFKA_DLQ_TOPIC: kafkaSettings.KAFKA_DLQ_TOPIC,
  ...kafkaSecuritySettings,
  /** The latest dead letters the page's Dead letters panel shows (dead-letters.ts). */
  KAFIDX_DEAD_LETTERS: setting.integer({ min: 1, max: 10_000, default: 200 }),
  /** Address the dashboard and its ops listener bind to. */
  KAFIDX_HOST: setting.string({ default: '0.0.0.0' }),
  /** Port browsers load the dashboard and open its WebSocket on; 0 picks a free one. */
  KAFIDX_PORT: setting.port({ default: 8390, allowZero: true }),
  /** /metrics, /healthz and /readyz, on a listener of their own: never served to browsers. */
  KAFIDX_OPS_PORT: setting.port({ default: 8391, allowZero: true }),
  /** The dashboard's access token; required in production, generated for local runs. */
  KAFIDX_TOKEN: setting.string({
    default: '',
    pattern: /^$|^[\x21-\x7e]{16,256}$/,
    accepts: '16-256 printable ASCII characters',
    secret: true,
  }),
  /** Origins allowed to open the WebSocket besides the dashboard's own. */
  KAFIDX_ALLOWED_ORIGINS: setting.list({ accepts: 'a comma-separated list of origins (https://ops.example.com)' }),
  /**
   * The origin browsers load the dashboard from when it is not the one kafidx sees (behind a TLS
   * proxy: https://kafidx.example.com). Unset: http://<Host header>.
   */
  KAFIDX_PUBLIC_ORIGIN: setting.string({
    default: '',
    pattern: /^https?:\/\/[^/?#\s@]+$/,
    accepts: 'an origin: scheme, host and optional port, no path (https://kafidx.example.com)',
  }),
  /** Mark the session cookie Secure (when served over HTTPS, e.g. behind a TLS ingress). */
  KAFIDX_COOKIE_SECURE: setting.boolean({ default: false }),
  /** How long a login lasts; then the browser logs in again and its open sockets are closed. */
  KAFIDX_SESSION_TTL_SECONDS: setting.integer({ min: 1, max: 7 * 24 * 3600, default: 12 * 3600 }),
  /** Wrong tokens per client address per minute; further logins from it get 429 until the minute ends. */
  KAFIDX_LOGIN_FAILURES_PER_MINUTE: setting.integer({ min: 1, max: 1000, default: 5 }),
  /** Proxies whose X-Forwarded-For names the client (the login throttle's address); none by default. */
  KAFIDX_TRUSTED_PROXIES: setting.list({
    item: /^[0-9a-fA-F:.]+\/\d{1,3}$/,
    accepts: 'a comma-separated list of CIDRs (10.0.0.0/8, fd00::/8)',
  }),
  /**
   * How long the broker holds a fetch that found less than KAFIDX_FETCH_MIN_BYTES (a long poll),
   * for the live consumer and the dead-letter reader: how often an idle kafidx asks. With
   * KAFIDX_FETCH_MIN_BYTES 1 an event is answered at once, so this bounds latency only with a
   * larger minimum. With no browser watching, the live consumer fetches nothing and checks this
   * often whether one started to: a browser's first live events come at most this much later.
   */
  KAFIDX_FETCH_MAX_WAIT_MS: setting.integer({ min: 1, max: 10_000, default: 1_000 }),
  /**
   * Bytes the live consumer's fetch waits for (up to KAFIDX_FETCH_MAX_WAIT_MS): fewer, larger
   * batches, but each a larger message to every browser, which a browser whose buffer is over
   * KAFIDX_MAX_BUFFERED_BYTES misses whole; 1 answers as soon as one event is there.
   */
  KAFIDX_FETCH_MIN_BYTES: setting.integer({ min: 1, max: 16 * 1024 * 1024, default: 1 }),
  /** Above this many events per second a browser gets a sample, and is told so. */
  KAFIDX_MAX_EVENTS_PER_SECOND: setting.integer({ min: 1, max: 1_000_000, default: 500 }),
  /** A browser whose unsent data exceeds this is skipped (and told how many) until it catches up. */
  KAFIDX_MAX_BUFFERED_BYTES: setting.integer({ min: 16 * 1024, max: 1024 * 1024 * 1024, default: 1024 * 1024 }),
  /** How far back a browser may ask a replay to start, in minutes. */
  KAFIDX_REPLAY_MAX_MINUTES: setting.integer({ min: 1, max: 7 * 24 * 60, default: 60 }),
  /** Most events one replay sends. */
  KAFIDX_REPLAY_MAX_EVENTS: setting.integer({ min: 1, max: 10_000_000, default: 20_000 }),
  /** Replays one session may start per minute (one at a time in any case). */
  KAFIDX_REPLAYS_PER_MINUTE: setting.integer({ min: 1, max: 1000, default: 6 }),
  /**
   * The /metrics endpoints the page's pipeline-health strip reads (queue depth, events per
   * second at each stage, klag p99, consumer lag), as name=URL; empty: no strip. kafidx
   * scrapes them itself, and only while a browser has the page open.
   */
  KAFIDX_HEALTH_TARGETS: setting.list({
    item: healthTargetPattern,
    accepts:
      'a comma-separated list of name=URL of /metrics endpoints, no credentials in the URL (tracker=http://127.0.0.1:8380/metrics,kafkastore=http://127.0.0.1:8381/metrics)',
  }),
  /**
   * The PostgreSQL sink's database (the consumers' postgres_sink): the Insights view (/insights)
   * charts its hourly rollups; empty: no Insights. A secret (it may hold a password).
   */
  POSTGRES_URL: setting.string({
    default: '',
    pattern: /^$|^postgres(ql)?:\/\/\S+$/,
    accepts: 'empty, or a URL starting with postgres:// or postgresql://',
    secret: true,
  }),
  /** How often the health strip scrapes its targets (rates and klag p99 are over this interval). */
  KAFIDX_HEALTH_INTERVAL_MS: setting.integer({ min: 500, max: 300_000, default: 5000 }),
} as const;

/** KAFIDX_FETCH_MAX_WAIT_MS's default, also the Hub's and the dead-letter feed's when none is given. */
export const DEFAULT_FETCH_MAX_WAIT_MS = Number(describeSetting(kafidxSettings.KAFIDX_FETCH_MAX_WAIT_MS)?.default);

export type KafidxConfig = ConfigOf<typeof kafidxSettings>;

export function kafidxConfig(env: Env): KafidxConfig {
  const config = parseConfig('kafidx', kafidxSettings, env);
  healthTargets(config.KAFIDX_HEALTH_TARGETS); // a bad URL or a name given twice stops kafidx here
  return config;
}
