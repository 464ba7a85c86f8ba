import { availableParallelism, hostname } from 'node:os';
import { commonSettings, parseConfig, redisSettings, setting, type ConfigOf, type Env } from '@pushtech/runtime';

export const trackerSettings = {
  ...commonSettings,
  ...redisSettings,
  TRACKER_HOST: setting.string({ default: '0.0.0.0' }),
  TRACKER_PORT: setting.port({ default: 8380, allowZero: true }),
  /** Processes per machine sharing the port (SO_REUSEPORT); 1 per pod on Kubernetes. */
  TRACKER_WORKERS: setting.integer({ min: 1, max: 256, default: availableParallelism() }),
  /** Recorded as `pod` on every event: the pod IP on Kubernetes (downward API). */
  POD_IP: setting.string({ default: hostname() }),
  /** Above this many waiting events the tracker answers 503 instead of growing Redis further. */
  TRACKER_MAX_QUEUE: setting.integer({ min: 1, max: 1_000_000_000, default: 1_000_000 }),
  TRACKER_RETRY_AFTER_SECONDS: setting.integer({ min: 1, max: 3600, default: 5 }),
  /** Peers (CIDRs) whose X-Forwarded-For / X-Real-IP headers are believed. */
  TRACKER_TRUSTED_PROXIES: setting.list({ accepts: 'a comma-separated list of CIDRs (10.0.0.0/8, fd00::/8)' }),
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
  TRACKER_WRITE_KEYS: setting.list({ accepts: 'a comma-separated list of write keys' }),
  /** Events per second per client IP; 0 turns the limit off. */
  TRACKER_RATE_LIMIT: setting.integer({ min: 0, max: 10_000_000, default: 0 }),
  TRACKER_RATE_BURST: setting.integer({ min: 1, max: 10_000_000, default: 100 }),
  TRACKER_SCHEMAS: setting.string({ default: '', pattern: /.*/, accepts: 'the path of an event schema JSON file' }),
  TRACKER_TLS_CERT: setting.string({ default: '', pattern: /.*/, accepts: 'the path of a PEM certificate' }),
  TRACKER_TLS_KEY: setting.string({ default: '', pattern: /.*/, accepts: 'the path of a PEM private key' }),
  TRACKER_MAX_BODY_BYTES: setting.integer({ min: 1024, max: 64 * 1024 * 1024, default: 1024 * 1024 }),
} as const;

export type TrackerConfig = ConfigOf<typeof trackerSettings>;

export function trackerConfig(env: Env): TrackerConfig {
  return parseConfig('tracker', trackerSettings, env);
}
