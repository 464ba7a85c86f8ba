import { Redis } from 'ioredis';
import { freshTopic, testInfra, uniqueName, type Cleanup } from '@pushtech/devstack/testing';

/** One kafkastore under test: its own queue key, instance, topics, and a Redis client. */
export interface ServiceSetup {
  readonly env: Record<string, string>;
  readonly redis: Redis;
  readonly queueKey: string;
  readonly processingKey: string;
  readonly topic: string;
  readonly dlqTopic: string;
}

export async function serviceSetup(t: Cleanup, extra: Readonly<Record<string, string>> = {}): Promise<ServiceSetup> {
  const infra = await testInfra();
  const queueKey = uniqueName('test:kafkastore:hits');
  const instance = uniqueName('ks');
  const processingKey = `${queueKey}:processing:${instance}`;
  const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: 3 });
  t.after(async () => {
    // Also the lease on the processing list and the trackers' writer leases a test made.
    await redis.del(queueKey, processingKey, `${processingKey}:owner`, `${queueKey}:writers`);
    await redis.quit();
  });
  const topic = await freshTopic(t, { prefix: 'kafkastore-events', partitions: 3 });
  const dlqTopic = await freshTopic(t, { prefix: 'kafkastore-dlq', partitions: 1 });
  return {
    redis,
    queueKey,
    processingKey,
    topic,
    dlqTopic,
    env: {
      REDIS_URL: infra.redisUrl,
      KAFKA_BROKERS: infra.kafkaBrokers,
      REDIS_QUEUE_KEY: queueKey,
      KAFKASTORE_INSTANCE: instance,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: dlqTopic,
      ...extra,
    },
  };
}
