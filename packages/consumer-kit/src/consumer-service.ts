import { Redis } from 'ioredis';
import {
  Probes,
  createProducer,
  deadLetterTopic,
  describeError,
  kafkaConnectionFrom,
  parseConfig,
  type Env,
  type EventProducer,
  type Logger,
  type Registry,
} from '@pushtech/runtime';
import { SharedDecodes } from './consumed-event.js';
import { createConsumerMetrics } from './consumer-metrics.js';
import { ConsumerRunner } from './consumer-runner.js';
import { toDeadLetterMessage, type DeadLetterSink } from './dead-letter.js';
import type { AnyConsumerDefinition } from './define-consumer.js';
import { ConsumerKitError } from './errors.js';
import type { ConsumerKitConfig } from './settings.js';

export interface ConsumerServiceOptions {
  /** The consumers to run in this process, each in its own consumer group. */
  readonly definitions: readonly AnyConsumerDefinition[];
  readonly config: ConsumerKitConfig;
  /** Where each consumer's own settings are read from (the same env the config came from). */
  readonly env: Env;
  readonly logger: Logger;
  readonly registry: Registry;
  /** How often each consumer's dependency probe runs for readiness (default 5 s). */
  readonly probeIntervalMs?: number;
}

/**
 * The consumers of one process and what they share: the dead-letter producer, one Redis client,
 * the metrics and the readiness checks. `start` connects and joins the groups; `stop` lets each
 * consumer finish and commit its batch, leaves the groups, then closes Redis and flushes the
 * producer last. An outage does not end a consumer (it waits, not ready); a consumer that dies
 * reports through `onFatal`: the process must exit.
 */
export class ConsumerService {
  readonly probes = new Probes();
  readonly runners: readonly ConsumerRunner[];
  private readonly producer: EventProducer;
  private readonly redis: Redis | undefined;
  private readonly fatalListeners: ((error: Error, consumer: string) => void)[] = [];
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: ConsumerServiceOptions) {
    const { config, definitions, logger } = options;
    if (definitions.length === 0) {
      throw new ConsumerKitError('PT_ERR_CONSUMER_UNKNOWN', 'no consumer selected: name at least one consumer to run');
    }
    const names = definitions.map((d) => d.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) {
      throw new ConsumerKitError('PT_ERR_CONSUMER_DEFINITION', `consumer ${duplicate} is selected twice`);
    }
    if (config.CONSUMER_GROUP_ID !== '' && definitions.length > 1) {
      throw new ConsumerKitError(
        'PT_ERR_CONSUMER_DEFINITION',
        `CONSUMER_GROUP_ID applies to one consumer, but ${definitions.length} are selected; unset it or run one`,
      );
    }
    // Every consumer's settings are validated before anything connects.
    const settings = definitions.map((d) => parseConfig(`consumer ${d.name}`, d.settings ?? {}, options.env));
    const needsRedis = definitions.filter((d) => d.redis === true);
    if (needsRedis.length > 0 && config.REDIS_URL === '') {
      throw new ConsumerKitError(
        'PT_ERR_CONSUMER_NO_REDIS',
        `REDIS_URL is unset, but ${needsRedis.map((d) => d.name).join(', ')} need Redis: set REDIS_URL`,
      );
    }
    this.redis =
      needsRedis.length > 0
        ? new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: true })
        : undefined;
    this.redis?.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));

    const connection = kafkaConnectionFrom(config, 'consumers');
    this.producer = createProducer(connection, logger);
    const dlq = deadLetterTopic(config);
    const producer = this.producer;
    const deadLetters: DeadLetterSink = {
      async send(letters, consumer) {
        await producer.send(
          dlq,
          letters.map((l) => toDeadLetterMessage(l, consumer)),
        );
      },
    };
    const metrics = createConsumerMetrics(options.registry);
    const sharedDecodes = definitions.length > 1 ? new SharedDecodes(definitions.length) : undefined;
    this.runners = definitions.map(
      (definition, i) =>
        new ConsumerRunner({
          definition,
          config: settings[i],
          connection,
          groupId: config.CONSUMER_GROUP_ID || `${config.KAFKA_CLIENT_ID}-${definition.name}`,
          topics: definition.topics ?? [config.KAFKA_TOPIC],
          fromBeginning: config.CONSUMER_FROM_BEGINNING,
          concurrency: config.CONSUMER_CONCURRENCY,
          sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
          fetchMaxWaitMs: config.CONSUMER_FETCH_MAX_WAIT_MS,
          fetchMinBytes: config.CONSUMER_FETCH_MIN_BYTES,
          fetchMaxPartitionBytes: config.CONSUMER_FETCH_MAX_PARTITION_BYTES,
          fetchLingerMs: definition.fetchLingerMs?.(settings[i]) ?? config.CONSUMER_FETCH_LINGER_MS,
          commitIntervalMs: definition.commitEachBatch === true ? 0 : config.CONSUMER_COMMIT_INTERVAL_MS,
          retry: {
            maxRetries: config.CONSUMER_MAX_RETRIES,
            initialMs: config.CONSUMER_RETRY_BACKOFF_MS,
            maxMs: config.CONSUMER_RETRY_BACKOFF_MAX_MS,
          },
          deadLetters,
          redis: definition.redis === true ? this.redis : undefined,
          keyPrefix: config.CONSUMER_KEY_PREFIX,
          dedupWindowSeconds: config.CONSUMER_DEDUP_WINDOW_SECONDS,
          logger,
          registry: options.registry,
          metrics,
          probeIntervalMs: options.probeIntervalMs ?? 5_000,
          sharedDecodes,
        }),
    );

    this.probes.add({ name: 'kafka-producer', check: () => this.producer.connected || 'not connected' });
    const redis = this.redis;
    if (redis) this.probes.add({ name: 'redis', check: () => redis.status === 'ready' || redis.status });
    for (const runner of this.runners) {
      // Not ready while not running, while an outage holds a batch, or while its probe fails.
      this.probes.add({ name: `consumer:${runner.name}`, check: () => runner.readiness() });
      runner.onCrash((error) => {
        for (const listener of this.fatalListeners) listener(error, runner.name);
      });
    }
  }

  onFatal(listener: (error: Error, consumer: string) => void): void {
    this.fatalListeners.push(listener);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.redis?.connect();
    for (const runner of this.runners) {
      await runner.start();
      this.options.logger.info({ consumer: runner.name, groupId: runner.groupId }, 'consumer started');
    }
  }

  /** Idempotent; rejects when a part failed to stop (after trying every part). */
  stop(): Promise<void> {
    this.stopped ??= this.stopParts();
    return this.stopped;
  }

  private async stopParts(): Promise<void> {
    this.probes.markShuttingDown();
    const consumers = await Promise.allSettled(this.runners.map((r) => r.stop()));
    const rest = await Promise.allSettled([
      (async () => {
        if (this.redis && this.redis.status !== 'end') await this.redis.quit();
      })(),
    ]);
    // The dead-letter producer last: a consumer finishing its batch may still need it.
    const producer = await Promise.allSettled([this.producer.disconnect()]);
    const failures = [...consumers, ...rest, ...producer].filter((r) => r.status === 'rejected');
    if (failures.length > 0) {
      throw new Error(`stopping consumers failed: ${failures.map((f) => describeError(f.reason)).join('; ')}`);
    }
  }
}
