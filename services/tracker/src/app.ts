import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import {
  describeError,
  Probes,
  createMetricsRegistry,
  redactUrl,
  type Lifecycle,
  type Logger,
  type Registry,
} from '@pushtech/runtime/core';
import { parseCidrList } from './cidr.js';
import type { TrackerConfig } from './config.js';
import { createCorsPolicy } from './cors.js';
import { loadEventSchemas, noSchemas } from './event-schemas.js';
import { HitStore } from './hit-store.js';
import { createTrackerMetrics } from './metrics.js';
import { createRateLimiter } from './rate-limit.js';
import { createTrackerServer } from './server.js';
import { workerMetrics } from './workers.js';
import { createWriteKeys } from './write-keys.js';
import { WriterLease } from './writer-lease.js';

/**
 * The share of the shutdown budget the requests in flight get. The rest is for their last LPUSH
 * (2 s command timeout), the writer lease's removal and the Redis goodbye, and it keeps the
 * lease's removal well inside kafkastore's drain when both get SIGTERM together (compose, plain
 * processes): defaults 12.5 s here against KAFKASTORE_DRAIN_TIMEOUT_MS 20 s. A grace of
 * budget - 5 s (20 s) matched that drain timeout, so a request answered at the very end could
 * reach Redis after kafkastore had given up waiting.
 */
const IN_FLIGHT_SHARE = 0.5;

export interface RunningTracker {
  readonly port: number;
  readonly registry: Registry;
  /**
   * Not ready at once, then: stop listening, answer what is in flight (503 to anything new on an
   * open connection), close every connection, release the writer lease once the last push was
   * confirmed, close Redis. Within SHUTDOWN_TIMEOUT_MS.
   */
  stop(): Promise<void>;
}

/** Composes one tracker process: Redis connection, hit store, HTTP server, probes, metrics. */
export async function startTracker(
  config: TrackerConfig,
  logger: Logger,
  lifecycle?: Lifecycle,
  /**
   * A worker of a supervisor: /metrics serves all workers' metrics, which it aggregates, and
   * the port is shared with the other workers (SO_REUSEPORT) instead of held alone.
   */
  options: { supervised?: boolean } = {},
): Promise<RunningTracker> {
  const trusted = parseCidrList(config.TRACKER_TRUSTED_PROXIES);
  if (typeof trusted === 'string')
    throw new Error(`TRACKER_TRUSTED_PROXIES: ${JSON.stringify(trusted)} is not a CIDR (e.g. 10.0.0.0/8)`);
  let schemas = noSchemas;
  if (config.TRACKER_SCHEMAS !== '') {
    try {
      schemas = loadEventSchemas(config.TRACKER_SCHEMAS);
    } catch (error: unknown) {
      throw new Error(`TRACKER_SCHEMAS: ${describeError(error)}`, { cause: error });
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
  metrics.maxQueue.set(config.TRACKER_MAX_QUEUE);
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    // Never queue writes in memory while Redis is away: refuse them (503) instead.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  });
  redis.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis connection error'));
  redis.on('ready', () => logger.info({ redis: redactUrl(config.REDIS_URL) }, 'redis ready'));
  redis.on('end', () => logger.warn('redis connection ended'));
  redis.connect().catch((error: unknown) => {
    logger.warn({ err: error }, 'redis not reachable yet; retrying');
  });

  // One writer per process (TRACKER_WORKERS runs several): kafkastore's drain waits for them all.
  const lease = new WriterLease(redis, {
    queueKey: config.REDIS_QUEUE_KEY,
    writerId: `${hostname()}:${process.pid}`,
    logger,
  });
  const store = new HitStore(redis, {
    key: config.REDIS_QUEUE_KEY,
    maxQueue: config.TRACKER_MAX_QUEUE,
    retryAfterSeconds: config.TRACKER_RETRY_AFTER_SECONDS,
    lingerMs: config.TRACKER_PUSH_LINGER_MS,
    maxBatch: config.TRACKER_PUSH_BATCH,
    logger,
    metrics,
    lease,
  });
  const rateLimiter = createRateLimiter(config.TRACKER_RATE_LIMIT, config.TRACKER_RATE_BURST);
  const probes = new Probes().add({ name: 'buffer', check: () => store.refusal() ?? true });
  const server = createTrackerServer({
    store,
    policy: {
      pod: config.POD_IP,
      trustedProxies: trusted,
      trustRealIp: config.TRACKER_TRUST_X_REAL_IP,
      writeKeys: createWriteKeys(config.TRACKER_WRITE_KEYS),
      rateLimiter,
      schemas,
      schemasEnabled: schemas !== noSchemas,
      maxMessageBytes: config.EVENT_MAX_MESSAGE_BYTES,
    },
    cors: createCorsPolicy(config.TRACKER_CORS_ORIGINS),
    redirectHosts: config.TRACKER_REDIRECT_HOSTS,
    maxBodyBytes: config.TRACKER_MAX_BODY_BYTES,
    probes,
    registry,
    metricsText: options.supervised && process.send ? workerMetrics(registry, probes) : undefined,
    metrics,
    logger,
    tls,
  });
  // A supervisor's workers share the port; a single tracker keeps it to itself.
  const port = await server.listen(config.TRACKER_HOST, config.TRACKER_PORT, { shared: options.supervised === true });
  logger.info(
    { host: config.TRACKER_HOST, port, tls: tls !== undefined, queue: config.REDIS_QUEUE_KEY },
    'tracker listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      probes.markShuttingDown();
      const budget = config.SHUTDOWN_TIMEOUT_MS;
      await server.close(budget * IN_FLIGHT_SHARE);
      await store.idle();
      // The last push is confirmed and none can follow: kafkastore may end its drain.
      await lease.release();
      store.close();
      rateLimiter.close();
      await redis.quit().catch(() => redis.disconnect());
    })());
  lifecycle?.onStop('tracker', stop);
  return { port, registry, stop };
}
