/**
 * Issue 19, findings 1 and 2: events too large for the broker, as a batch or alone. The broker
 * applies max.message.bytes to each partition's record batch; topics here take 64 KiB, so a
 * few events of some tens of KB with one key are too many for one batch. Both Kafka clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRawHit, type RawHit } from '@pushtech/event';
import { Redis } from 'ioredis';
import { createAdmin, kafkaClients, silentLogger, type KafkaAdmin } from '@pushtech/runtime';
import { eventually, testKafka, type Cleanup } from '@pushtech/devstack/testing';
import { serviceSetup, type ServiceSetup } from './helpers/env.js';
import { rawHit } from './helpers/hits.js';
import { startService } from './helpers/service.js';
import { readTopic, type TopicReader } from './helpers/topic-reader.js';

const SMALL_TOPIC_BYTES = 64 * 1024;

async function admin(t: Cleanup): Promise<KafkaAdmin> {
  const client = createAdmin(await testKafka(), silentLogger());
  await client.connect();
  t.after(() => client.disconnect());
  return client;
}

/** Sets a topic's max.message.bytes and waits until the broker reports it. */
async function limitTopic(client: KafkaAdmin, topic: string, bytes: number): Promise<void> {
  await client.alterTopicConfig(topic, { 'max.message.bytes': String(bytes) });
  await eventually(
    `${topic} to take at most ${bytes} bytes`,
    async () => ((await client.topicLimits(topic)).maxMessageBytes === bytes ? true : undefined),
    10_000,
  );
}

/** A hit whose entry is about `bytes` long, keyed by `deviceid`. */
function bigHit(deviceid: string, bytes: number): RawHit {
  return rawHit({ params: `deviceid=${deviceid}&blob=${'x'.repeat(bytes)}` });
}

async function setupWithOversizedKey(t: Cleanup, env: Record<string, string>): Promise<ServiceSetup> {
  const setup = await serviceSetup(t, { KAFKA_PARTITION_KEY: 'deviceid', KAFKASTORE_BATCH: '100', ...env });
  // setup.redis is closed by then (hooks run in registration order): a client of its own.
  t.after(async () => {
    const redis = new Redis(setup.env['REDIS_URL'] ?? '');
    await redis.del(`${setup.queueKey}:oversized`);
    await redis.quit();
  });
  return setup;
}

/** Asserts every id arrived exactly once. */
function assertOnce(reader: TopicReader, hits: readonly RawHit[], what: string): void {
  const counts = reader.countsById();
  const wrong = hits.filter((h) => counts.get(h.id) !== 1).map((h) => `${h.id}: ${counts.get(h.id) ?? 0}`);
  assert.deepEqual(wrong, [], `${what}: each exactly once`);
}

for (const client of kafkaClients) {
  describe(`oversized events (${client})`, () => {
    it('a batch too large for the broker: large events with one key among normal ones are each delivered once, and the queue goes on', async (t) => {
      const setup = await setupWithOversizedKey(t, { KAFKA_CLIENT: client, EVENT_MAX_MESSAGE_BYTES: '60000' });
      await limitTopic(await admin(t), setup.topic, SMALL_TOPIC_BYTES);
      const before = Array.from({ length: 30 }, (_, i) => rawHit({ params: `deviceid=d${i % 6}` }));
      // Each fits the topic alone; the three together (one key, one partition) do not.
      const large = [bigHit('same', 40_000), bigHit('same', 40_000), bigHit('same', 30_000)];
      // Over the event limit: an older tracker acknowledged them. Dead-lettered whole.
      const huge = [bigHit('same', 600_000), bigHit('same', 600_000)];
      const after = Array.from({ length: 30 }, (_, i) => rawHit({ params: `deviceid=d${i % 6}` }));
      const entries = [...before, large[0], huge[0], large[1], huge[1], large[2], ...after].map((h) =>
        encodeRawHit(h as RawHit),
      );
      await setup.redis.lpush(setup.queueKey, ...entries);

      const service = startService(t, setup.env);
      const events = await readTopic(t, await testKafka(), setup.topic);
      const dlq = await readTopic(t, await testKafka(), setup.dlqTopic);
      const delivered = [...before, ...large, ...after];
      await events.waitForIds(delivered.map((h) => h.id));
      await dlq.waitForIds(huge.map((h) => h.id));
      await eventually('the batch trimmed', async () =>
        (await setup.redis.llen(setup.processingKey)) === 0 ? true : undefined,
      );

      assertOnce(events, delivered, 'events topic');
      assert.equal(events.messages.length, delivered.length, 'nothing else on the events topic');
      for (const hit of huge) {
        const letter = dlq.messages.find((m) => m.headers['id'] === hit.id);
        assert.equal(letter?.value?.toString('utf8'), encodeRawHit(hit), 'dead-lettered whole');
        assert.match(letter?.headers['error'] ?? '', /above EVENT_MAX_MESSAGE_BYTES=60000/);
        assert.equal(letter?.headers['reason'], 'too_large');
      }
      // The queue is not stalled: what arrives next is delivered too.
      const later = Array.from({ length: 5 }, () => rawHit());
      await setup.redis.lpush(setup.queueKey, ...later.map(encodeRawHit));
      await events.waitForIds(later.map((h) => h.id));
      assert.equal(await setup.redis.llen(setup.queueKey), 0);
      await eventually('68 events counted', async () =>
        /pushtech_kafkastore_events_produced_total\{service="kafkastore"\} 68\b/.test(await service.metrics())
          ? true
          : undefined,
      );
    });

    it("a non-retriable refusal of one partition sends no other partition twice (the topic's limit lowered after the start)", async (t) => {
      const setup = await setupWithOversizedKey(t, { KAFKA_CLIENT: client, EVENT_MAX_MESSAGE_BYTES: '100000' });
      const service = startService(t, setup.env);
      await service.ready();
      // kafkastore read 1 MB at start; the broker now refuses every batch above 64 KiB.
      await limitTopic(await admin(t), setup.topic, SMALL_TOPIC_BYTES);
      const normal = Array.from({ length: 60 }, (_, i) => rawHit({ params: `deviceid=n${i}` }));
      const large = [bigHit('same', 40_000), bigHit('same', 40_000)];
      // Fits the limits kafkastore knows of, not the topic's new one: refused even alone.
      const tooLarge = bigHit('same', 80_000);
      const entries = [...normal.slice(0, 30), large[0], tooLarge, large[1], ...normal.slice(30)];
      await setup.redis.lpush(setup.queueKey, ...entries.map((h) => encodeRawHit(h as RawHit)));

      const events = await readTopic(t, await testKafka(), setup.topic);
      const dlq = await readTopic(t, await testKafka(), setup.dlqTopic);
      await events.waitForIds(normal.map((h) => h.id));
      assertOnce(events, normal, 'the partitions the broker acknowledged');
      await events.waitForIds(large.map((h) => h.id));
      await dlq.waitForIds([tooLarge.id]);
      assertOnce(events, [...normal, ...large], 'events topic');
      assert.equal(events.messages.length, normal.length + large.length);
      const letter = dlq.messages.find((m) => m.headers['id'] === tooLarge.id);
      assert.equal(letter?.value?.toString('utf8'), encodeRawHit(tooLarge), 'dead-lettered whole');
      assert.match(letter?.headers['error'] ?? '', /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/);
      assert.equal(letter?.headers['reason'], 'rejected_by_broker');
      assert.equal(letter?.headers['payload'], 'raw-entry');
      await eventually('the batch trimmed', async () =>
        (await setup.redis.llen(setup.processingKey)) === 0 ? true : undefined,
      );
      assert.match(
        await service.metrics(),
        /pushtech_kafkastore_events_dead_lettered_total\{stage="kafka",service="kafkastore"\} 1\b/,
      );
    });

    it('an event too large for the dead-letter topic too is never truncated: it is kept whole in the oversized list', async (t) => {
      const setup = await setupWithOversizedKey(t, { KAFKA_CLIENT: client, EVENT_MAX_MESSAGE_BYTES: '60000' });
      const topics = await admin(t);
      await limitTopic(topics, setup.topic, SMALL_TOPIC_BYTES);
      await limitTopic(topics, setup.dlqTopic, 200_000);
      const normal = Array.from({ length: 20 }, () => rawHit());
      // Percent-encoding triples params: a 340 KB body of "é" is over a MB as a message.
      const tripled = rawHit({ params: `deviceid=e&body=${'%C3%A9'.repeat(120_000)}` });
      const deadLettered = bigHit('f', 100_000);
      const entries = [...normal.slice(0, 10), tripled, deadLettered, ...normal.slice(10)].map(encodeRawHit);
      await setup.redis.lpush(setup.queueKey, ...entries);

      const service = startService(t, setup.env);
      const events = await readTopic(t, await testKafka(), setup.topic);
      const dlq = await readTopic(t, await testKafka(), setup.dlqTopic);
      await events.waitForIds(normal.map((h) => h.id));
      await dlq.waitForIds([deadLettered.id]);
      const oversized = `${setup.queueKey}:oversized`;
      await eventually('the entry parked', async () => ((await setup.redis.llen(oversized)) > 0 ? true : undefined));
      assert.deepEqual(await setup.redis.lrange(oversized, 0, -1), [encodeRawHit(tripled)], 'kept whole');
      assert.equal(
        dlq.messages.find((m) => m.headers['id'] === deadLettered.id)?.value?.toString('utf8'),
        encodeRawHit(deadLettered),
      );
      assert.equal(dlq.messages.filter((m) => m.headers['id'] === tripled.id).length, 0, 'no cut copy anywhere');
      assertOnce(events, normal, 'events topic');
      assert.equal(events.messages.length, normal.length);
      assert.match(await service.metrics(), /pushtech_kafkastore_events_parked_total\{service="kafkastore"\} 1\b/);
      const warned = service.logs.find((l) => l['msg'] === 'entry kept in the oversized list');
      assert.equal(warned?.['id'], tripled.id);
    });
  });
}

describe('the event limit and the topic', () => {
  it(
    'refuses to start when EVENT_MAX_MESSAGE_BYTES does not fit the topic, naming both numbers and what to change',
    { timeout: 60_000 },
    async (t) => {
      const setup = await serviceSetup(t);
      await limitTopic(await admin(t), setup.topic, SMALL_TOPIC_BYTES);
      const service = startService(t, { ...setup.env, EVENT_MAX_MESSAGE_BYTES: '1000000' });
      const exit = await service.exited;
      assert.equal(exit.code, 1);
      const text = JSON.stringify(service.logs);
      assert.match(text, /EVENT_MAX_MESSAGE_BYTES=1000000 does not fit topic/);
      assert.match(text, new RegExp(`max.message.bytes is ${SMALL_TOPIC_BYTES} \\(set on the topic\\)`));
      assert.match(text, /Lower EVENT_MAX_MESSAGE_BYTES to at most \d+/);
      assert.equal(await setup.redis.llen(setup.processingKey), 0, 'took nothing');
    },
  );
});
