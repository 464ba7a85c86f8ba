import { Redis } from 'ioredis';
import type { Lifecycle } from '@pushtech/runtime';
import { Probes, createMetricsRegistry, type Logger, type Registry } from '@pushtech/runtime';
import { parseCidrList } from './cidr.js';
import type { TrackerConfig } from './config.js';
import { createCorsPolicy } from './cors.js';
import { loadEventSchemas, noSchemas } from './event-schemas.js';
import { HitStore } from './hit-store.js';
import { createTrackerMetrics } from './metrics.js';
import { createRateLimiter } from './rate-limit.js';
import { createTrackerServer } from './server.js';
import { createWriteKeys } from './write-keys.js';

export interface RunningTracker {
  readonly port: number;
  readonly registry: Registry;
  /** Not ready at once, then: stop listening, answer what is in flight, close Redis. */
  stop(): Promise<void>;
}

/** Composes one tracker process: Redis connection, hit store, HTTP server, probes, metrics. */
export async function startTracker(
  config: TrackerConfig,
  logger: Logger,
  lifecycle?: Lifecycle,
): Promise<RunningTracker> {
  const trusted = parseCidrList(config.TRACKER_TRUSTED_PROXIES);
  if (typeof trusted === 'string')
    throw new Error(`TRACKER_TRUSTED_PROXIES: ${JSON.stringify(trusted)} is not a CIDR (e.g. 10.0.0.0/8)`);
  let schemas = noSchemas;
  if (config.TRACKER_SCHEMAS !== '') {
    try {
      schemas = loadEventSchemas(config.TRACKER_SCHEMAS);
    } catch (error: unknown) {
      throw new Error(`TRACKER_SCHEMAS: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  const tls =
    config.TRACKER_TLS_CERT !== '' || config.TRACKER_TLS_KEY !== ''
      ? { certFile: config.TRACKER_TLS_CERT, keyFile: config.TRACKER_TLS_KEY }
      : undefined;
  if (tls && (tls.certFile === '' || tls.keyFile === ''))
    throw new Error('TRACKER_TLS_CERT and TRACKER_TLS_KEY must be set together');

  const registry = createMetricsRegistry('tracker');
  const metrics = createTrackerMetrics(registry);
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    // Never queue writes in memory while Redis is away: refuse them (503) instead.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  });
  redis.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis connection error'));
  redis.on('ready', () => logger.info({ redis: config.REDIS_URL }, 'redis ready'));
  redis.on('end', () => logger.warn('redis connection ended'));
  redis.connect().catch((error: unknown) => {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis not reachable yet; retrying');
  });

  const store = new HitStore(redis, {
    key: config.REDIS_QUEUE_KEY,
    maxQueue: config.TRACKER_MAX_QUEUE,
    retryAfterSeconds: config.TRACKER_RETRY_AFTER_SECONDS,
    logger,
    metrics,
  });
  const rateLimiter = createRateLimiter(config.TRACKER_RATE_LIMIT, config.TRACKER_RATE_BURST);
  const probes = new Probes().add({ name: 'buffer', check: () => store.refusal() ?? true });
  const server = createTrackerServer({
    store,
    policy: {
      pod: config.POD_IP,
      trustedProxies: trusted,
      writeKeys: createWriteKeys(config.TRACKER_WRITE_KEYS),
      rateLimiter,
      schemas,
      schemasEnabled: schemas !== noSchemas,
    },
    cors: createCorsPolicy(config.TRACKER_CORS_ORIGINS),
    redirectHosts: config.TRACKER_REDIRECT_HOSTS,
    maxBodyBytes: config.TRACKER_MAX_BODY_BYTES,
    probes,
    registry,
    metrics,
    logger,
    tls,
  });
  const port = await server.listen(config.TRACKER_HOST, config.TRACKER_PORT);
  logger.info(
    { host: config.TRACKER_HOST, port, tls: tls !== undefined, queue: config.REDIS_QUEUE_KEY },
    'tracker listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      probes.markShuttingDown();
      await server.close();
      await store.idle();
      store.close();
      rateLimiter.close();
      await redis.quit().catch(() => redis.disconnect());
    })());
  lifecycle?.onStop('tracker', stop);
  return { port, registry, stop };
}
