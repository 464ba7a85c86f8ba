import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createAdmin, silentLogger, type TopicSpec } from '@pushtech/runtime';
import { startKafkaBroker, type KafkaBroker } from './kafka-broker.js';
import { ensureKafkaJars } from './kafka-jars.js';
import { forgetProcesses, recordProcesses, stopLeftovers } from './leftovers.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface StackOptions {
  /** State folder: Redis AOF, Kafka data and logs, the record of started processes. */
  dir: string;
  /** Where the Kafka jars are cached (outside git). */
  cacheRoot: string;
  redisPort: number;
  kafkaPort: number;
  controllerPort: number;
  topics: readonly TopicSpec[];
  redisAppendOnly?: boolean;
  kafkaHeapMb?: number;
  /** false: the processes do not keep this Node process alive (throw-away test stacks). */
  holdsEventLoop?: boolean;
  log: (line: string) => void;
}

export interface Stack {
  readonly redisUrl: string;
  readonly kafkaBrokers: string;
  readonly redis: RedisServer;
  readonly kafka: KafkaBroker;
  readonly topics: readonly string[];
  /** Kafka first (it may still flush), then Redis. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a real Redis and a real single-node Kafka side by side and creates the topics. */
export async function startStack(options: StackOptions): Promise<Stack> {
  mkdirSync(options.dir, { recursive: true });
  await stopLeftovers(options.dir, options.log);
  const jars = await ensureKafkaJars({ cacheRoot: options.cacheRoot, log: options.log });

  const started: { stop(): Promise<void>; process: { name: string; pid: number } }[] = [];
  const record = (): void =>
    recordProcesses(
      options.dir,
      started.map((s) => ({ name: s.process.name, pid: s.process.pid })),
    );
  try {
    const [redis, kafka] = await Promise.all([
      startRedisServer({
        port: options.redisPort,
        dir: path.join(options.dir, 'redis'),
        appendOnly: options.redisAppendOnly ?? true,
      }).then((r) => {
        if (options.holdsEventLoop === false) r.process.unref();
        started.push(r);
        record();
        return r;
      }),
      startKafkaBroker({
        libsDir: jars.libsDir,
        dir: path.join(options.dir, 'kafka'),
        port: options.kafkaPort,
        controllerPort: options.controllerPort,
        ...(options.kafkaHeapMb ? { heapMb: options.kafkaHeapMb } : {}),
      }).then((k) => {
        if (options.holdsEventLoop === false) k.process.unref();
        started.push(k);
        record();
        return k;
      }),
    ]);
    const topics = await createTopics(kafka.brokers, options.topics);
    let stopping: Promise<void> | undefined;
    return {
      redisUrl: redis.url,
      kafkaBrokers: kafka.brokers,
      redis,
      kafka,
      topics,
      stop: () =>
        (stopping ??= (async () => {
          await kafka.stop();
          await redis.stop();
          forgetProcesses(options.dir);
        })()),
    };
  } catch (error: unknown) {
    await Promise.allSettled(started.map((s) => s.stop()));
    forgetProcesses(options.dir);
    throw error;
  }
}

async function createTopics(brokers: string, specs: readonly TopicSpec[]): Promise<string[]> {
  const admin = createAdmin({ brokers: [brokers], clientId: 'devstack' }, silentLogger());
  await admin.connect();
  try {
    await admin.ensureTopics(specs);
    return (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
  } finally {
    await admin.disconnect();
  }
}
