import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createAdmin, silentLogger, type TopicSpec } from '@pushtech/runtime';
import { startKafkaBroker, type KafkaBroker } from './kafka-broker.js';
import { startKafkaCluster, type KafkaCluster, type KafkaNodePorts } from './kafka-cluster.js';
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
  /**
   * A KRaft cluster of these nodes instead of the single node on `kafkaPort`/`controllerPort`
   * (DEVSTACK_KAFKA_NODES=3). Its data lives in `<dir>/kafka-cluster/node-<id>`.
   */
  kafkaNodes?: readonly KafkaNodePorts[];
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
  /** Every Kafka node (one, or the cluster's); `kafka` is the first of them. */
  readonly kafkaNodes: readonly KafkaBroker[];
  /** The cluster, when `kafkaNodes` asked for one. */
  readonly kafkaCluster: KafkaCluster | undefined;
  /** Kafka first (it may still flush), then the Redis servers. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a real Redis (and, with `consumersRedisPort`, the consumers' own) and a real Kafka (a
 * single node, or a cluster with `kafkaNodes`) side by side and creates the topics.
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
    const heap = options.kafkaHeapMb ? { heapMb: options.kafkaHeapMb } : {};
    const kafkaStarted = (nodes: readonly KafkaBroker[]): void => {
      for (const k of nodes) {
        if (options.holdsEventLoop === false) k.process.unref();
        started.push(k);
      }
      record();
    };
    const startKafka = async (): Promise<{ nodes: readonly KafkaBroker[]; cluster: KafkaCluster | undefined }> => {
      if (options.kafkaNodes && options.kafkaNodes.length > 1) {
        const cluster = await startKafkaCluster({
          libsDir: jars.libsDir,
          dir: path.join(options.dir, 'kafka-cluster'),
          nodes: options.kafkaNodes,
          ...heap,
        });
        kafkaStarted(cluster.running);
        return { nodes: cluster.running, cluster };
      }
      const single = await startKafkaBroker({
        libsDir: jars.libsDir,
        dir: path.join(options.dir, 'kafka'),
        port: options.kafkaPort,
        controllerPort: options.controllerPort,
        ...heap,
      });
      kafkaStarted([single]);
      return { nodes: [single], cluster: undefined };
    };
    const [redis, consumersRedis, { nodes: kafkaNodes, cluster: kafkaCluster }] = await Promise.all([
      redisIn(options.redisPort, 'redis'),
      options.consumersRedisPort === undefined ? undefined : redisIn(options.consumersRedisPort, 'redis-consumers'),
      startKafka(),
    ]);
    const kafka = kafkaNodes[0] as KafkaBroker;
    const kafkaBrokers = kafkaCluster?.brokers ?? kafka.brokers;
    const topics = await createTopics(kafkaBrokers, options.topics);
    let stopping: Promise<void> | undefined;
    return {
      redisUrl: redis.url,
      kafkaBrokers,
      redis,
      consumersRedis,
      kafka,
      kafkaNodes,
      kafkaCluster,
      topics,
      stop: () =>
        (stopping ??= (async () => {
          await (kafkaCluster ? kafkaCluster.stop() : kafka.stop());
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
  const admin = createAdmin({ brokers: brokers.split(','), clientId: 'devstack' }, silentLogger());
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
  for (const pid of [...stack.kafkaNodes.map((k) => k.process.pid), stack.redis.process.pid]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
