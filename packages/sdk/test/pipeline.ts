/**
 * The real pipeline for the SDK's end-to-end tests: tracker and kafkastore started from their
 * own `src/main.ts` (SIGKILLed when the test ends) on the test Redis and a fresh topic, a reader
 * of that topic, and the audit: which ids reached Kafka, and how often the consumer kit's dedup
 * counts each.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createDedup, type DedupEvent } from '@pushtech/consumer-kit';
import { freePort, repoRoot } from '@pushtech/devstack';
import {
  eventually,
  freshTopic,
  testInfra,
  testKafka,
  testRedis,
  uniqueName,
  type Cleanup,
} from '@pushtech/devstack/testing';
import { decodeParams } from '@pushtech/event';
import { createConsumer, silentLogger, type IncomingMessage } from '@pushtech/runtime';

export interface Pipeline {
  readonly endpoint: string;
  readonly topic: string;
  readonly redis: Awaited<ReturnType<typeof testRedis>>;
}

function startService(t: Cleanup, name: string, env: Record<string, string>): void {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', path.join(repoRoot, 'services', name, 'src', 'main.ts')],
    {
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
}

function status(port: number, target: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(0));
  });
}

/** Tracker (one worker, the given extra settings) and kafkastore into a fresh one-partition topic. */
export async function startPipeline(t: Cleanup, trackerEnv: Record<string, string> = {}): Promise<Pipeline> {
  const infra = await testInfra();
  const redis = await testRedis(t);
  const queue = redis.key('hits');
  const topic = await freshTopic(t, { partitions: 1 });
  const dlq = await freshTopic(t, { partitions: 1 });
  const port = await freePort();
  startService(t, 'tracker', {
    REDIS_URL: infra.redisUrl,
    REDIS_QUEUE_KEY: queue,
    TRACKER_HOST: '127.0.0.1',
    TRACKER_PORT: String(port),
    TRACKER_WORKERS: '1',
    ...trackerEnv,
  });
  startService(t, 'kafkastore', {
    REDIS_URL: infra.redisUrl,
    REDIS_QUEUE_KEY: queue,
    KAFKA_BROKERS: infra.kafkaBrokers,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlq,
    KAFKASTORE_PORT: '0',
    KAFKASTORE_INSTANCE: uniqueName('sdk'),
    GEOIP_DB: '',
  });
  // Generous: two services compile through tsx at start, on a machine others use too.
  await eventually('tracker ready', async () => ((await status(port, '/readyz')) === 200 ? true : undefined), 90_000);
  return { endpoint: `http://127.0.0.1:${port}`, topic, redis };
}

/** One event as it reached Kafka: the id the device minted, and where Kafka put it. */
export interface Arrived extends DedupEvent {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
}

/**
 * An event as the tracker stored it: its meta `id` is the id the device minted (`id_src=client`),
 * and the reserved params (`_id`, `_ct`, `_st`) are gone from its params.
 */
export function arrived(message: IncomingMessage): Arrived {
  const text = message.value?.toString('utf8') ?? '';
  const [type = '', meta = '', params = ''] = text.split(' ');
  const m = new Map(decodeParams(meta));
  const p = new Map(decodeParams(params));
  const id = m.get('id');
  if (m.get('id_src') !== 'client' || id === undefined || p.has('_id')) {
    throw new Error(`not an event with a device-minted id in its meta: ${text}`);
  }
  return {
    id,
    type,
    params: p,
    source: { topic: message.topic, partition: message.partition, offset: message.offset },
  };
}

/** Reads the topic from the beginning until every id of `expected` arrived (duplicates included). */
export async function readUntil(t: Cleanup, topic: string, expected: readonly string[]): Promise<Arrived[]> {
  const consumer = createConsumer(await testKafka(), silentLogger(), {
    groupId: uniqueName('sdk-reader'),
    topics: [topic],
    fromBeginning: true,
  });
  t.after(() => consumer.stop());
  const received: Arrived[] = [];
  const waiting = new Set(expected);
  await consumer.start((batch) => {
    for (const event of batch.messages.map(arrived)) {
      received.push(event);
      waiting.delete(event.id);
    }
    return Promise.resolve();
  });
  try {
    await eventually(`${expected.length} ids on ${topic}`, () => (waiting.size === 0 ? true : undefined), 60_000);
  } finally {
    await consumer.stop();
  }
  return received;
}

export interface Audit {
  /** Minted ids that never reached Kafka. */
  readonly missing: string[];
  /** Ids in Kafka nobody minted. */
  readonly unknown: string[];
  /** Messages beyond the first for an id (a retry or a beacon whose answer was lost). */
  readonly duplicates: number;
  /** Per id, how often the consumer kit's dedup let it through. */
  readonly counted: ReadonlyMap<string, number>;
}

/** Runs every message through the consumer kit's dedup (a real Redis) and compares with the minted ids. */
export async function audit(t: Cleanup, minted: readonly string[], messages: readonly Arrived[]): Promise<Audit> {
  const redis = await testRedis(t);
  const markPrefix = `${uniqueName('test:sdk-dedup')}:`;
  const dedup = createDedup(redis.client, { markPrefix, windowSeconds: 900 });
  const counted = new Map<string, number>();
  try {
    for (const event of await dedup.claim(messages)) counted.set(event.id, (counted.get(event.id) ?? 0) + 1);
  } finally {
    const keys = await redis.client.keys(`${markPrefix}*`);
    if (keys.length > 0) await redis.client.del(...keys);
  }
  const mintedSet = new Set(minted);
  const seen = new Set(messages.map((m) => m.id));
  return {
    missing: minted.filter((id) => !seen.has(id)),
    unknown: [...seen].filter((id) => !mintedSet.has(id)),
    duplicates: messages.length - seen.size,
    counted,
  };
}
