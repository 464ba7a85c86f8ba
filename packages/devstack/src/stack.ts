import { mkdirSync, rmSync } from 'node:fs';
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
  /** A second Redis for the consumers' state (counters, dedup), apart from the ingest buffer. */
  consumersRedisPort?: number;
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
  /** The consumers' own Redis, when `consumersRedisPort` was given. */
  readonly consumersRedis: RedisServer | undefined;
  readonly kafka: KafkaBroker;
  readonly topics: readonly string[];
  /** Kafka first (it may still flush), then the Redis servers. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a real Redis (and, with `consumersRedisPort`, the consumers' own) and a real single-node
 * Kafka side by side and creates the topics.
 */
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
    const redisIn = (port: number, folder: string): Promise<RedisServer> =>
      startRedisServer({
        port,
        dir: path.join(options.dir, folder),
        appendOnly: options.redisAppendOnly ?? true,
      }).then((r) => {
        if (options.holdsEventLoop === false) r.process.unref();
        started.push(r);
        record();
        return r;
      });
    const [redis, consumersRedis, kafka] = await Promise.all([
      redisIn(options.redisPort, 'redis'),
      options.consumersRedisPort === undefined ? undefined : redisIn(options.consumersRedisPort, 'redis-consumers'),
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
      consumersRedis,
      kafka,
      topics,
      stop: () =>
        (stopping ??= (async () => {
          await kafka.stop();
          await Promise.all([redis.stop(), consumersRedis?.stop()]);
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

/**
 * Kills a throw-away stack outright (SIGKILL, no graceful stop) and removes its folder: for an
 * `exit` or signal hook of a test or bench process that ends abruptly. Safe to call twice.
 */
export function killThrowawayStack(stack: Stack, dir: string): void {
  for (const pid of [stack.kafka.process.pid, stack.redis.process.pid]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
