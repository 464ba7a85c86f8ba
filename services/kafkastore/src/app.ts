import {
  Probes,
  createAdmin,
  createProducer,
  deadLetterTopic,
  kafkaConnectionFrom,
  type EventProducer,
  type Logger,
  type Registry,
  type TopicLimits,
} from '@pushtech/runtime';
import { Redis } from 'ioredis';
import { ipAnonymizer } from './anonymize-ip.js';
import { cacheStats } from './cache-stats.js';
import { oversizedKey, processingKey, type KafkastoreConfig } from './config.js';
import { createDeviceLookup } from './device.js';
import { createDrainLoop, type DrainLoop } from './drain-loop.js';
import { noGeoIp, openGeoIp, type GeoIp } from './geoip.js';
import { createHitQueue } from './hit-queue.js';
import { createKafkastoreMetrics } from './metrics.js';
import { createEntryProcessor } from './process-entry.js';
import { createProcessingLease, noLease } from './processing-lease.js';

/** The service, built and connected but not yet draining: `main` (or a test) starts it. */
export interface Kafkastore {
  readonly probes: Probes;
  /**
   * Takes the lease on the processing list, then runs the drain loop; settles when it ends.
   * Rejects on a bug, when another instance holds the lease (PT_ERR_LEASE_HELD) or when the
   * lease is lost while draining (PT_ERR_LEASE_LOST).
   */
  run(): Promise<void>;
  /** Finishes the batch in flight (and drains first in sidecar mode). */
  stopDraining(): Promise<void>;
  /** Releases Redis, Kafka and file watchers; after stopDraining. */
  readonly closers: ReadonlyArray<{ readonly name: string; close(): Promise<void> | void }>;
}

/** A Redis connection that logs losing and regaining the server once each, not per retry. */
function redisClient(
  url: string,
  name: string,
  logger: Logger,
  options: { blocking: boolean },
): { client: Redis; close(): Promise<void> } {
  const client = new Redis(url, {
    connectionName: name,
    // A failed command comes back to the drain loop, which logs it and retries with backoff;
    // ioredis keeps reconnecting underneath.
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  let down = false;
  let closing = false;
  const lost = (reason: string): void => {
    if (!down && !closing) logger.warn({ connection: name, err: reason }, 'Redis connection lost; reconnecting');
    down = true;
  };
  client.on('error', (error: Error) => lost(error.message));
  client.on('close', () => lost('connection closed'));
  client.on('ready', () => {
    if (down) logger.info({ connection: name }, 'Redis connection restored');
    down = false;
  });
  return {
    client,
    async close() {
      closing = true;
      // QUIT waits for a reply a blocked connection never sends; that one is cut instead.
      if (options.blocking) client.disconnect();
      else await client.quit();
    },
  };
}

/** Both topics' partitions and max.message.bytes, read with a short-lived admin client. */
async function readTopicLimits(
  config: KafkastoreConfig,
  logger: Logger,
): Promise<{ events: TopicLimits; deadLetters: TopicLimits }> {
  const admin = createAdmin(
    kafkaConnectionFrom(config, 'kafkastore-admin'),
    logger.child({ component: 'kafka-admin' }),
  );
  await admin.connect();
  try {
    return {
      events: await admin.topicLimits(config.KAFKA_TOPIC),
      deadLetters: await admin.topicLimits(deadLetterTopic(config)),
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function createKafkastore(options: {
  config: KafkastoreConfig;
  logger: Logger;
  registry: Registry;
  /** Injected by tests and the benchmark; the real producer otherwise. */
  producer?: EventProducer;
}): Promise<Kafkastore> {
  const { config, logger, registry } = options;
  const metrics = createKafkastoreMetrics(registry);
  metrics.drainBudgetSeconds.set(config.KAFKASTORE_DRAIN_ON_EXIT ? config.KAFKASTORE_DRAIN_TIMEOUT_MS / 1000 : 0);

  let geoIp: GeoIp = noGeoIp;
  if (config.GEOIP_DB.length > 0) {
    geoIp = await openGeoIp({
      files: config.GEOIP_DB,
      cacheSize: config.GEOIP_CACHE_SIZE,
      watchIntervalMs: config.GEOIP_WATCH_INTERVAL_MS,
      logger,
      stats: cacheStats(metrics, 'geoip'),
    });
  } else {
    logger.info('GEOIP_DB is not set: GeoIP enrichment is off, every country and city is XX');
  }

  const main = redisClient(config.REDIS_URL, 'kafkastore', logger, { blocking: false });
  const blocking = redisClient(config.REDIS_URL, 'kafkastore-blocking', logger, { blocking: true });
  const lease = config.KAFKASTORE_LEASE
    ? createProcessingLease({
        redis: main.client,
        processingKey: processingKey(config),
        instance: config.KAFKASTORE_INSTANCE,
        ttlMs: config.KAFKASTORE_LEASE_TTL_MS,
        logger,
        registry,
      })
    : noLease();
  if (!config.KAFKASTORE_LEASE) logger.warn('KAFKASTORE_LEASE=false: no lease on the processing list, no fence');
  const queue = createHitQueue({
    main: main.client,
    blocking: blocking.client,
    incomingKey: config.REDIS_QUEUE_KEY,
    processingKey: processingKey(config),
    lease,
  });
  const producer =
    options.producer ??
    createProducer({ ...kafkaConnectionFrom(config, 'kafkastore'), retries: 3 }, logger.child({ component: 'kafka' }));
  // The client's code is loaded now, not on the first connect after the lease was taken: the
  // load holds the event loop (about 200 ms), which a short lease (KAFKASTORE_LEASE_TTL_MS, 1 s
  // at least) must not spend unrenewed.
  await producer.prepare();

  const loop: DrainLoop = createDrainLoop({
    queue,
    producer,
    processEntry: createEntryProcessor({
      lookupGeo: geoIp.lookup,
      lookupDevice: createDeviceLookup({ cacheSize: config.UA_CACHE_SIZE, stats: cacheStats(metrics, 'ua') }),
      anonymizeIp: ipAnonymizer(config.IP_ANONYMIZE),
      partitionKey: config.KAFKA_PARTITION_KEY,
      maxMessageBytes: config.EVENT_MAX_MESSAGE_BYTES,
    }),
    metrics,
    logger,
    topic: config.KAFKA_TOPIC,
    deadLetterTopic: deadLetterTopic(config),
    batchSize: config.KAFKASTORE_BATCH,
    lingerMs: config.KAFKASTORE_LINGER_MS,
    retryMaxMs: config.KAFKASTORE_RETRY_MAX_MS,
    redactDeadLetters: config.IP_ANONYMIZE !== 'none',
    eventMaxBytes: config.EVENT_MAX_MESSAGE_BYTES,
    topicLimits: () => readTopicLimits(config, logger),
    park: async (entries) => void (await main.client.lpush(oversizedKey(config), ...entries)),
    oversizedKey: oversizedKey(config),
  });

  const probes = new Probes()
    .add({ name: 'redis', check: () => queue.connected || 'Redis not connected' })
    .add({ name: 'lease', check: () => lease.state === 'held' || `lease on the processing list: ${lease.state}` })
    .add({ name: 'kafka', check: () => (producer.connected ? loop.kafkaStatus() : 'Kafka producer not connected') });

  logger.info(
    {
      queue: config.REDIS_QUEUE_KEY,
      processing: processingKey(config),
      batch: config.KAFKASTORE_BATCH,
      lingerMs: config.KAFKASTORE_LINGER_MS,
      drainOnExit: config.KAFKASTORE_DRAIN_ON_EXIT,
      leaseTtlMs: config.KAFKASTORE_LEASE_TTL_MS,
      ipAnonymize: config.IP_ANONYMIZE,
      partitionKey: config.KAFKA_PARTITION_KEY || null,
    },
    'kafkastore configured',
  );

  return {
    probes,
    async run() {
      if (!(await lease.acquire())) return;
      await Promise.race([loop.run(), lease.lost]);
    },
    stopDraining: () => {
      lease.abort();
      if (config.KAFKASTORE_DRAIN_ON_EXIT) metrics.drainStartedSeconds.set(Date.now() / 1000);
      return loop.stop({
        drain: config.KAFKASTORE_DRAIN_ON_EXIT,
        drainTimeoutMs: config.KAFKASTORE_DRAIN_TIMEOUT_MS,
        drainQuietMs: config.KAFKASTORE_DRAIN_QUIET_MS,
      });
    },
    closers: [
      { name: 'kafka producer', close: () => producer.disconnect() },
      {
        name: 'redis',
        close: async () => {
          // After the drain ended; one that cannot be deleted (Redis down) expires on its own.
          await lease.release().catch(() => undefined);
          await blocking.close();
          await main.close();
        },
      },
      { name: 'geoip', close: () => geoIp.close() },
    ],
  };
}
