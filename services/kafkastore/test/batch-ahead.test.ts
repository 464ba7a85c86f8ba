/**
 * Taking the next batch while Kafka works on one must not weaken "a crash repeats at most one
 * batch": the next batch may wait in the processing list, but is sent only after the one before
 * it was acknowledged and trimmed. Real Redis and Kafka; kafkastore runs in this process so the
 * processing list can be read at the moment of each send.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRawHit } from '@pushtech/event';
import { Redis } from 'ioredis';
import { testInfra, testKafka, uniqueName, type Cleanup } from '@pushtech/devstack/testing';
import { createHitQueue } from '../src/hit-queue.js';
import { serviceSetup, type ServiceSetup } from './helpers/env.js';
import { encodeHits, rawHit } from './helpers/hits.js';
import { overriding, runInProcess } from './helpers/in-process.js';
import { readTopic } from './helpers/topic-reader.js';

const BATCH = 100;

/** What the processing list held when each batch was sent, and right after Kafka acknowledged it. */
interface Send {
  readonly ids: readonly string[];
  readonly heldAtSend: readonly string[];
  readonly heldAfterAck: number;
  /** The ids of each partition's request, in request order. */
  readonly partitions: readonly (readonly string[])[];
}

/** Runs kafkastore in this process with a producer that looks at the processing list around each send. */
async function runObserved(t: Cleanup, setup: ServiceSetup): Promise<{ sends: Send[]; stop: () => Promise<void> }> {
  const sends: Send[] = [];
  const observer = setup.redis;
  const { stop } = await runInProcess(t, setup, 'batch-ahead-test', (inner) =>
    overriding(inner, {
      async sendMany(batches) {
        const ids = batches.flatMap((b) => b.messages.map((m) => m.headers?.['id'] ?? ''));
        const heldAtSend = await observer.lrange(setup.processingKey, 0, -1);
        const receipts = await inner.sendMany(batches);
        const heldAfterAck = await observer.llen(setup.processingKey);
        sends.push({ ids, heldAtSend, heldAfterAck, partitions: [] });
        return receipts;
      },
      async produce(batches) {
        const ids = batches.flatMap((b) => b.messages.map((m) => m.headers?.['id'] ?? ''));
        const heldAtSend = await observer.lrange(setup.processingKey, 0, -1);
        const outcomes = await inner.produce(batches);
        const heldAfterAck = await observer.llen(setup.processingKey);
        const partitions = batches.map((b) => b.messages.map((m) => m.headers?.['id'] ?? ''));
        sends.push({ ids, heldAtSend, heldAfterAck, partitions });
        return outcomes;
      },
    }),
  );
  return { sends, stop };
}

describe('taking the next batch ahead', () => {
  it('sends a batch only after the one before it left the processing list', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH) });
    const hits = Array.from({ length: 3_000 }, () => rawHit());
    await setup.redis.lpush(setup.queueKey, ...encodeHits(hits));
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const { sends, stop } = await runObserved(t, setup);
    await reader.waitForIds(
      hits.map((h) => h.id),
      60_000,
    );
    await stop();

    const entryOf = new Map(hits.map((h) => [h.id, encodeRawHit(h)]));
    const sent = new Set<string>();
    for (const [i, send] of sends.entries()) {
      // An entry of an earlier send still in the processing list would be a second batch that
      // a crash now could repeat.
      const stale = send.heldAtSend.filter((entry) => sent.has(entry)).length;
      assert.equal(stale, 0, `send ${i}: ${stale} entries of earlier sends were still in the processing list`);
      assert.ok(send.ids.length <= BATCH, `send ${i} carried ${send.ids.length} events`);
      for (const id of send.ids) sent.add(entryOf.get(id) ?? id);
    }
    assert.equal(sent.size, hits.length);
    // The next batch was taken while Kafka worked: the list held more than the batch in flight.
    const ahead = sends.filter((s) => s.heldAfterAck > s.ids.length).length;
    assert.ok(ahead > 0, 'no batch was ever taken ahead');
    assert.equal(reader.countsById().size, hits.length);
    assert.equal(reader.messages.length, hits.length, 'no crash, so no duplicates');
    assert.equal(await setup.redis.llen(setup.processingKey), 0);
  });

  it('replays two batches left by a crash one batch at a time', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH) });
    // A crash while the next batch had been taken: the processing list holds up to two batches.
    const left = Array.from({ length: 2 * BATCH - 10 }, () => rawHit());
    await setup.redis.lpush(setup.processingKey, ...encodeHits(left));
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const { sends, stop } = await runObserved(t, setup);
    await reader.waitForIds(left.map((h) => h.id));
    await stop();
    assert.deepEqual(
      sends.map((s) => s.ids.length),
      [BATCH, BATCH - 10],
    );
    // Oldest first, as the tracker stored them: batch by batch, and within each partition.
    const age = new Map(left.map((h, i) => [h.id, i]));
    const byAge = (ids: readonly string[]): string[] => [...ids].sort((a, b) => (age.get(a) ?? 0) - (age.get(b) ?? 0));
    assert.deepEqual(
      sends.flatMap((s) => byAge(s.ids)),
      left.map((h) => h.id),
    );
    for (const partitionIds of sends.flatMap((s) => s.partitions)) assert.deepEqual(partitionIds, byAge(partitionIds));
    assert.equal(await setup.redis.llen(setup.processingKey), 0);
  });
});

describe('the Redis side of taking ahead', () => {
  async function queueFor(t: Cleanup) {
    const { redisUrl } = await testInfra();
    const main = new Redis(redisUrl);
    const blocking = new Redis(redisUrl);
    const incomingKey = uniqueName('test:kafkastore:ahead');
    const processingKey = `${incomingKey}:processing`;
    // Takes and acks are fenced by the lease on the processing list; this test holds it.
    const lease = { key: `${processingKey}:owner`, token: 'test-owner' };
    await main.set(lease.key, lease.token);
    t.after(async () => {
      await main.del(incomingKey, processingKey, lease.key);
      main.disconnect();
      blocking.disconnect();
    });
    return {
      main,
      incomingKey,
      processingKey,
      queue: createHitQueue({ main, blocking, incomingKey, processingKey, lease }),
    };
  }

  it('takes more only while the processing list holds exactly the batch in flight', async (t) => {
    const { main, incomingKey, processingKey, queue } = await queueFor(t);
    await main.lpush(incomingKey, 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7');
    const first = await queue.take(3);
    assert.deepEqual(first.entries, ['e1', 'e2', 'e3']);
    assert.deepEqual(await queue.takeMore(2, 3), { entries: [], queueDepth: 4 }, 'wrong count: nothing moved');
    assert.deepEqual(await queue.takeMore(3, 3), { entries: ['e4', 'e5', 'e6'], queueDepth: 1 });
    assert.deepEqual(await queue.takeMore(3, 3), { entries: [], queueDepth: 1 }, 'a repeat moves nothing');
    assert.deepEqual(await main.lrange(processingKey, 0, -1), ['e6', 'e5', 'e4', 'e3', 'e2', 'e1']);
  });

  it('trims the acknowledged batch once, even when the command is repeated', async (t) => {
    const { main, incomingKey, processingKey, queue } = await queueFor(t);
    await main.lpush(incomingKey, 'e1', 'e2', 'e3', 'e4', 'e5', 'e6');
    const first = await queue.take(3);
    await queue.takeMore(3, 3);
    await queue.ack(first.entries);
    // ioredis resends a command whose reply was lost: the second trim must not touch e4-e6.
    await queue.ack(first.entries);
    assert.deepEqual(await main.lrange(processingKey, 0, -1), ['e6', 'e5', 'e4']);
    await queue.ack(['e4', 'e5', 'e6']);
    assert.equal(await main.llen(processingKey), 0);
  });
});
