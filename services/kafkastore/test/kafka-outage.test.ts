/**
 * A Kafka outage mid-stream: a private broker (the shared one must stay up for other tests) is
 * stopped for 10 s and started again on the same ports and data. kafkastore must keep the
 * events in Redis meanwhile, report not-ready, and recover without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { createAdmin, silentLogger, type KafkaConnection } from '@pushtech/runtime';
import { cacheDir, ensureKafkaJars, freePort, startKafkaBroker, type KafkaBroker } from '@pushtech/devstack';
import { eventually, uniqueName } from '@pushtech/devstack/testing';
import { lastInLine } from './helpers/cleanup-stack.js';
import { serviceSetup } from './helpers/env.js';
import { streamHits } from './helpers/hits.js';
import { startService } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

const OUTAGE_MS = 10_000;

it('keeps events in Redis while Kafka is down for 10 s and recovers on its own', async (t) => {
  const { libsDir } = await ensureKafkaJars({ cacheRoot: cacheDir(process.env) });
  const dir = mkdtempSync(path.join(tmpdir(), 'kafkastore-outage-'));
  const brokerOptions = { libsDir, dir, port: await freePort(), controllerPort: await freePort(), heapMb: 256 };
  let broker: KafkaBroker | undefined = await startKafkaBroker(brokerOptions);
  // After the consumers and the service that talk to it, or their disconnects hang.
  lastInLine(t).after(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const connection: KafkaConnection = { brokers: [broker.brokers], clientId: uniqueName('outage-test') };
  const topic = uniqueName('kafkastore-outage');
  const admin = createAdmin(connection, silentLogger());
  await admin.connect();
  await admin.ensureTopics([
    { topic, partitions: 3 },
    { topic: `${topic}.dlq`, partitions: 1 },
  ]);
  await admin.disconnect();

  const setup = await serviceSetup(t, { KAFKA_BROKERS: broker.brokers, KAFKASTORE_RETRY_MAX_MS: '1000' });
  const env = { ...setup.env, KAFKA_TOPIC: topic, KAFKA_DLQ_TOPIC: `${topic}.dlq` };
  const service = startService(t, env);
  await service.ready();

  const stream = streamHits(setup.redis, setup.queueKey, { perPush: 20, everyMs: 20 });
  const { ids } = stream;

  await eventually('some events to flow', () => (ids.length > 500 ? true : undefined));
  await broker.stop();
  broker = undefined;
  const stoppedAt = Date.now();
  await eventually(
    'kafkastore to report not-ready',
    async () => ((await service.readyz()) === 503 ? true : undefined),
    OUTAGE_MS,
  );
  // Nothing is taken from Redis while Kafka is away: the incoming list grows.
  const waiting = await setup.redis.llen(setup.queueKey);
  await eventually(
    'events to pile up in Redis',
    async () => ((await setup.redis.llen(setup.queueKey)) > waiting ? true : undefined),
    OUTAGE_MS,
  );
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));

  broker = await startKafkaBroker(brokerOptions);
  await service.ready(60_000);
  await stream.stop();

  const reader = await readTopic(t, connection, topic);
  await reader.waitForIds(ids, 60_000);
  await eventually('the queue to be empty', async () =>
    (await setup.redis.llen(setup.queueKey)) === 0 ? true : undefined,
  );
  assert.equal(service.child.exitCode, null, 'the same process recovered, no restart');
  assert.equal(reader.countsById().size, ids.length);
});
