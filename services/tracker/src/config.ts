import { availableParallelism, hostname } from 'node:os';
import {
  commonSettings,
  messageSettings,
  parseConfig,
  redisSettings,
  setting,
  type ConfigOf,
  type Env,
} from '@pushtech/runtime/core';

export const trackerSettings = {
  ...commonSettings,
  ...redisSettings,
  ...messageSettings,
  /** Address the tracker listens on. */
  TRACKER_HOST: setting.string({ default: '0.0.0.0' }),
  /** Port the tracker listens on (pixels and /healthz, /readyz, /metrics); 0 picks a free one. */
  TRACKER_PORT: setting.port({ default: 8380, allowZero: true }),
  /** Processes per machine sharing the port (SO_REUSEPORT); 1 per pod on Kubernetes. */
  TRACKER_WORKERS: setting.integer({ min: 1, max: 256, default: availableParallelism() }),
  /** Recorded as `pod` on every event: the pod IP on Kubernetes (downward API). */
  POD_IP: setting.string({ default: hostname() }),
  /** Above this many waiting events the tracker answers 503 instead of growing Redis further. */
  TRACKER_MAX_QUEUE: setting.integer({ min: 1, max: 1_000_000_000, default: 1_000_000 }),
  /**
   * How long a request's event may wait for others to share its LPUSH (one Redis write, one
   * fsync, for all of them); every answer comes at most this much later. The batch goes
   * earlier when as many requests wait as a linger gathered at most in the last second or two,
   * if that was 8 or more (a closed loop of keep-alive connections: no more are coming). 0: only the requests of one
   * event-loop turn share an LPUSH, which at moderate rates means one LPUSH per request.
   */
  TRACKER_PUSH_LINGER_MS: setting.integer({ min: 0, max: 1_000, default: 2 }),
  /** Events waiting for an LPUSH that send it at once, without waiting for TRACKER_PUSH_LINGER_MS. */
  TRACKER_PUSH_BATCH: setting.integer({ min: 1, max: 100_000, default: 1_000 }),
  /** The `Retry-After` of a 503 (Redis down or the buffer above TRACKER_MAX_QUEUE). */
  TRACKER_RETRY_AFTER_SECONDS: setting.integer({ min: 1, max: 3600, default: 5 }),
  /** Peers (CIDRs) whose X-Forwarded-For (and, if enabled below, X-Real-IP) headers are believed. */
  TRACKER_TRUSTED_PROXIES: setting.list({ accepts: 'a comma-separated list of CIDRs (10.0.0.0/8, fd00::/8)' }),
  /**
   * Whether a trusted proxy's `X-Real-IP` is believed when it sent no X-Forwarded-For. Off by
   * default: a proxy that does not set X-Real-IP itself passes on whatever the client wrote there.
   */
  TRACKER_TRUST_X_REAL_IP: setting.boolean({ default: false }),
  /** Hosts `/r/<event>?to=` may redirect to: `example.com` or `*.example.com`. */
  TRACKER_REDIRECT_HOSTS: setting.list({
    item: /^(\*\.)?[A-Za-z0-9.-]+$/,
    accepts: 'a comma-separated list of host names (a.com, *.b.com)',
  }),
  /** Origins allowed to send browser beacons; `*` for any. */
  TRACKER_CORS_ORIGINS: setting.list({
    default: ['*'],
    accepts: 'a comma-separated list of origins (https://a.com) or *',
  }),
  /** When set, a request needs one of these keys (`X-Write-Key` header or `write_key` param), else 401. */
  TRACKER_WRITE_KEYS: setting.list({ accepts: 'a comma-separated list of write keys', secret: true }),
  /** Events per second per client (IPv4 address or IPv6 /64); 0 turns the limit off. */
  TRACKER_RATE_LIMIT: setting.integer({ min: 0, max: 10_000_000, default: 0 }),
  /** Events a client may send at once; a batch (`POST /t`) of more events is refused with 413. */
  TRACKER_RATE_BURST: setting.integer({ min: 1, max: 10_000_000, default: 100 }),
  /** A JSON file of per-event-type rules; a violating event gets 400. Empty: no rules. */
  TRACKER_SCHEMAS: setting.string({
    default: '',
    pattern: /.*/,
    accepts: 'the path of an event schema JSON file',
    path: true,
  }),
  /** With TRACKER_TLS_KEY, serve HTTPS with this certificate; empty: plain HTTP. */
  TRACKER_TLS_CERT: setting.string({
    default: '',
    pattern: /.*/,
    accepts: 'the path of a PEM certificate',
    path: true,
  }),
  /** The private key of TRACKER_TLS_CERT. */
  TRACKER_TLS_KEY: setting.string({ default: '', pattern: /.*/, accepts: 'the path of a PEM private key', path: true }),
  /** Largest request body (`POST /t`, beacons); a larger one is refused with 413. */
  TRACKER_MAX_BODY_BYTES: setting.integer({ min: 1024, max: 64 * 1024 * 1024, default: 1024 * 1024 }),
} as const;

export type TrackerConfig = ConfigOf<typeof trackerSettings>;

export function trackerConfig(env: Env): TrackerConfig {
  return parseConfig('tracker', trackerSettings, env);
}
