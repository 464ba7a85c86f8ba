import { Redis } from 'ioredis';
import { encodeMessage, type TrackingEvent } from '@pushtech/event';
import {
  describeError,
  createAdmin,
  createMetricsRegistry,
  createProducer,
  parseConfig,
  silentLogger,
  type IncomingMessage,
  type Logger,
  type Registry,
} from '@pushtech/runtime';
import { eventually, freshTopic, testInfra, testKafka, uniqueName, type Cleanup } from '@pushtech/devstack/testing';
import { ConsumerService } from '../consumer-service.js';
import type { AnyConsumerDefinition } from '../define-consumer.js';
import { consumerKitSettings } from '../settings.js';
import { readTopic } from './read-topic.js';

export interface HarnessOptions {
  /** Extra environment for the consumer (its settings, CONSUMER_MAX_RETRIES, ...). */
  readonly env?: Readonly<Record<string, string>>;
  readonly partitions?: number;
  /** Instances of the consumer in the same group (each its own service, as separate pods). */
  readonly instances?: number;
  readonly logger?: Logger;
}

export interface ConsumerHarness {
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly groupId: string;
  /** The CONSUMER_KEY_PREFIX of this run; every key under it is deleted at the end. */
  readonly keyPrefix: string;
  /** A Redis client of the test, to inspect the consumer's effects. */
  readonly redis: Redis;
  readonly services: readonly ConsumerService[];
  readonly registries: readonly Registry[];
  /** Produces events (or raw message texts, e.g. poison messages) to the topic. */
  produce(events: readonly (TrackingEvent | string)[]): Promise<void>;
  /** Resolves once the group's committed offsets reached the end of every partition. */
  waitUntilHandled(timeoutMs?: number): Promise<void>;
  /** Reads the dead-letter topic until `count` messages arrived. */
  deadLetters(count: number, timeoutMs?: number): Promise<IncomingMessage[]>;
  stop(): Promise<void>;
}

/**
 * Runs a consumer through the real kit against a fresh topic on the test run's Kafka, with a
 * fresh group and Redis namespace; everything is removed when the test ends.
 */
export async function startConsumerHarness(
  t: Cleanup,
  definition: AnyConsumerDefinition,
  options: HarnessOptions = {},
): Promise<ConsumerHarness> {
  const infra = await testInfra();
  // Cleanups run last-registered first (consumers stop before their topics are deleted).
  const cleanups: (() => Promise<void> | void)[] = [];
  const local: Cleanup = { after: (fn) => void cleanups.push(fn) };
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error: unknown) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  const topic = await freshTopic(local, { prefix: `events-${definition.name}`, partitions: options.partitions ?? 3 });
  const deadLetterTopic = await freshTopic(local, { prefix: `dlq-${definition.name}`, partitions: 1 });
  const clientId = uniqueName('consumer-test');
  const keyPrefix = uniqueName('test');
  const env = {
    NODE_ENV: 'test',
    KAFKA_BROKERS: infra.kafkaBrokers,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: deadLetterTopic,
    KAFKA_CLIENT_ID: clientId,
    REDIS_URL: infra.redisUrl,
    CONSUMER_KEY_PREFIX: keyPrefix,
    CONSUMER_RETRY_BACKOFF_MS: '1',
    CONSUMER_RETRY_BACKOFF_MAX_MS: '20',
    ...options.env,
  };
  const config = parseConfig('consumer test', consumerKitSettings, env);
  const groupId = config.CONSUMER_GROUP_ID || `${clientId}-${definition.name}`;

  const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  local.after(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  });

  const logger = options.logger ?? silentLogger();
  const registries: Registry[] = [];
  const services: ConsumerService[] = [];
  for (let i = 0; i < (options.instances ?? 1); i += 1) {
    const registry = createMetricsRegistry(`consumers-test-${i}`, { processMetrics: false });
    const service = new ConsumerService({ definitions: [definition], config, env, logger, registry });
    registries.push(registry);
    services.push(service);
    local.after(() => service.stop());
    await service.start();
  }

  const producer = createProducer(await testKafka(), silentLogger());
  await producer.connect();
  local.after(() => producer.disconnect());
  const admin = createAdmin(await testKafka(), silentLogger());
  await admin.connect();
  local.after(() => admin.disconnect());

  return {
    topic,
    deadLetterTopic,
    groupId,
    keyPrefix,
    redis,
    services,
    registries,
    async produce(events) {
      const values = events.map((e) => (typeof e === 'string' ? e : encodeMessage(e)));
      // Several sends, so the consumer sees several batches.
      for (let start = 0; start < values.length; start += 100) {
        await producer.send(
          topic,
          values.slice(start, start + 100).map((value, i) => ({ key: `device-${(start + i) % 7}`, value })),
        );
      }
    },
    async waitUntilHandled(timeoutMs = 60_000) {
      const high = (await admin.topicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }));
      const expected = JSON.stringify(high.map((p) => (p.offset === '0' ? { ...p, offset: '-1' } : p)));
      let committed = '';
      await eventually(
        `group ${groupId} to commit every message (expected ${expected})`,
        async () => {
          committed = JSON.stringify(await admin.groupOffsets(groupId, topic));
          return committed === expected ? true : undefined;
        },
        timeoutMs,
      ).catch((error: unknown) => {
        throw new Error(`${describeError(error)}; committed ${committed}`);
      });
    },
    deadLetters: (count, timeoutMs) => readTopic(local, deadLetterTopic, count, timeoutMs),
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
    },
  };
}

/** Runs a consumer over the given events and resolves once all were handled (and committed). */
export async function runConsumer(
  t: Cleanup,
  definition: AnyConsumerDefinition,
  events: readonly (TrackingEvent | string)[],
  options: HarnessOptions = {},
): Promise<ConsumerHarness> {
  const harness = await startConsumerHarness(t, definition, options);
  await harness.produce(events);
  await harness.waitUntilHandled();
  return harness;
}
