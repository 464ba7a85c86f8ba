import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, testRedis } from '@pushtech/devstack/testing';
import { createDedup, defineConsumer, type ConsumedEvent } from '../src/index.js';
import { runConsumer, sampleEvent, startConsumerHarness } from '../src/testing/index.js';

function counting(seen: Map<string, number>) {
  return (events: readonly ConsumedEvent[]): void => {
    for (const e of events) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
  };
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('the consumer kit against a real Kafka and Redis', () => {
  it('hands every event to the handler, decoded, and commits after the handler succeeded', async (t) => {
    const seen = new Map<string, number>();
    const received: ConsumedEvent[] = [];
    const consumer = defineConsumer({
      name: 'recorder',
      handleBatch(events) {
        counting(seen)(events);
        received.push(...events);
        return Promise.resolve();
      },
    });
    const events = Array.from({ length: 250 }, (_, i) =>
      sampleEvent({ type: i % 2 === 0 ? 'app_open' : 'purchase', params: [['i', String(i)]] }),
    );
    const harness = await runConsumer(t, consumer, events);
    assert.equal(seen.size, 250);
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'no event twice without a crash or a rebalance',
    );
    const first = received.find((e) => e.id === events[0]?.meta.id);
    assert.equal(first?.type, 'app_open');
    assert.deepEqual(first?.params, [['i', '0']]);
    assert.equal(first?.meta.country, 'DE');
    assert.equal(first?.receivedAt, events[0]?.meta.ts);
    assert.equal(first?.source.topic, harness.topic);
    assert.ok((first?.producedAt ?? 0) > 0);
    const metrics = await harness.registries[0]?.metrics();
    assert.equal(metricValue(metrics ?? '', 'pushtech_consumer_events_handled_total', 'consumer="recorder"'), 250);
    assert.match(metrics ?? '', /pushtech_consumer_lag\{[^}]*consumer="recorder"[^}]*\} 0/);
  });

  it('hands the partitions of a fetch to the handler in one call, each in offset order', async (t) => {
    const calls: (readonly ConsumedEvent[])[] = [];
    const consumer = defineConsumer({
      name: 'gatherer',
      handleBatch(events) {
        calls.push(events);
        return Promise.resolve();
      },
    });
    // Each send of 100 spreads over the topic's 3 partitions (keys device-0..6).
    await runConsumer(
      t,
      consumer,
      Array.from({ length: 300 }, () => sampleEvent()),
    );
    const partitionsPerCall = calls.map((events) => new Set(events.map((e) => e.source.partition)).size);
    assert.ok(
      partitionsPerCall.some((n) => n === 3),
      `a call with all 3 partitions (partitions per call: ${partitionsPerCall.join(', ')})`,
    );
    for (const events of calls) {
      for (const partition of [0, 1, 2]) {
        const offsets = events.filter((e) => e.source.partition === partition).map((e) => Number(e.source.offset));
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
          `partition ${partition} in offset order`,
        );
      }
    }
    assert.equal(calls.flat().length, 300);
  });

  it('a handler that fails every other call: every event still handled, and counts through dedup are exact', async (t) => {
    const seen = new Map<string, number>();
    let calls = 0;
    const consumer = defineConsumer({
      name: 'flaky_counter',
      redis: true,
      async handleBatch(events, ctx) {
        counting(seen)(events);
        await ctx.dedup.applyOnce(events, (e) => [
          { kind: 'hincrby', key: `${ctx.keyPrefix}:count`, field: e.type, by: 1 },
        ]);
        // Fails after the effect, the worst moment: the batch is replayed over applied events.
        // Every odd call fails, so the first batch is always replayed, however Kafka splits them.
        calls += 1;
        if (calls % 2 === 1) throw new Error('injected failure');
      },
    });
    const events = Array.from({ length: 400 }, (_, i) => sampleEvent({ type: `t${i % 4}` }));
    const harness = await runConsumer(t, consumer, events, { env: { CONSUMER_MAX_RETRIES: '30' } });
    assert.equal(seen.size, 400, 'every event reached the handler');
    assert.ok(
      [...seen.values()].some((n) => n > 1),
      'some batches were retried',
    );
    const counts = await harness.redis.hgetall(`${harness.keyPrefix}:flaky_counter:count`);
    assert.deepEqual(counts, { t0: '100', t1: '100', t2: '100', t3: '100' });
    const metrics = (await harness.registries[0]?.metrics()) ?? '';
    assert.ok(metricValue(metrics, 'pushtech_consumer_handler_failures_total', 'consumer="flaky_counter"') > 0);
    assert.equal(metricValue(metrics, 'pushtech_consumer_dead_lettered_total', 'consumer="flaky_counter"'), 0);
  });

  it('poison messages are dead-lettered with their reason and the rest flows', async (t) => {
    const seen = new Map<string, number>();
    const bad = sampleEvent({ type: 'explodes' });
    const consumer = defineConsumer({
      name: 'picky',
      handleBatch(events) {
        if (events.some((e) => e.id === bad.meta.id)) return Promise.reject(new Error('cannot handle explodes'));
        counting(seen)(events);
        return Promise.resolve();
      },
    });
    const good = Array.from({ length: 60 }, () => sampleEvent());
    const harness = await runConsumer(
      t,
      consumer,
      [...good.slice(0, 30), 'not a message at all', bad, ...good.slice(30)],
      { partitions: 1, env: { CONSUMER_MAX_RETRIES: '2' } },
    );
    assert.equal(seen.size, 60, 'every other event was handled');
    const letters = await harness.deadLetters(2);
    const byReason = new Map(letters.map((l) => [l.headers['reason'], l]));
    const undecodable = byReason.get('undecodable');
    assert.equal(undecodable?.value?.toString(), 'not a message at all', 'the original bytes');
    assert.match(undecodable?.headers['error'] ?? '', /^message: expected 3 space-separated fields/);
    assert.equal(undecodable?.headers['original_topic'], harness.topic);
    assert.equal(undecodable?.headers['consumer'], 'picky');
    const failed = byReason.get('handler_failed');
    assert.match(failed?.value?.toString() ?? '', /^explodes /);
    assert.equal(failed?.headers['error'], 'cannot handle explodes');
    assert.equal(letters.length, 2, 'only the failing event, not its batch');
    const metrics = (await harness.registries[0]?.metrics()) ?? '';
    assert.equal(metricValue(metrics, 'pushtech_consumer_dead_lettered_total', 'reason="undecodable"'), 1);
    assert.equal(metricValue(metrics, 'pushtech_consumer_dead_lettered_total', 'reason="handler_failed"'), 1);
  });

  it('a message that cannot be decoded is dead-lettered when the handler reads it, at once, even behind a wrapping error', async (t) => {
    const seen = new Map<string, number>();
    const types: string[] = [];
    const consumer = defineConsumer({
      name: 'wrapping',
      handleBatch(events) {
        try {
          counting(seen)(events);
        } catch (error: unknown) {
          return Promise.reject(new Error('could not count', { cause: error }));
        }
        types.push(...events.map((e) => e.type));
        return Promise.resolve();
      },
    });
    const good = Array.from({ length: 20 }, () => sampleEvent());
    // A valid type with a broken meta: only reading past the type finds it out.
    const harness = await runConsumer(t, consumer, [...good.slice(0, 10), 'app_open ts=1 x=1', ...good.slice(10)], {
      partitions: 1,
      env: { CONSUMER_MAX_RETRIES: '3' },
    });
    assert.equal(seen.size, 20, 'every good event was handled');
    const letters = await harness.deadLetters(1);
    assert.equal(letters[0]?.value?.toString(), 'app_open ts=1 x=1');
    assert.equal(letters[0]?.headers['reason'], 'undecodable');
    assert.match(letters[0]?.headers['error'] ?? '', /^meta: missing key "type"$/);
    assert.equal(types.length, 20, 'the bad message never reached a successful handler call');
    const metrics = (await harness.registries[0]?.metrics()) ?? '';
    assert.equal(
      metricValue(metrics, 'pushtech_consumer_handler_failures_total', 'consumer="wrapping"'),
      0,
      'an undecodable message is not a handler failure: no retry, no backoff',
    );
    assert.equal(metricValue(metrics, 'pushtech_consumer_events_handled_total', 'consumer="wrapping"'), 20);
  });

  it('stop lets the batch in hand finish and commit, then leaves the group', async (t) => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let finished = 0;
    const consumer = defineConsumer({
      name: 'slow',
      async handleBatch(events) {
        started = true;
        await gate;
        finished += events.length;
      },
    });
    const harness = await startConsumerHarness(t, consumer, { partitions: 1 });
    await harness.produce(Array.from({ length: 20 }, () => sampleEvent()));
    await eventually('a batch in hand', () => (started ? true : undefined), 30_000);
    const stopping = harness.stop();
    release();
    await stopping;
    assert.equal(finished, 20);
    await harness.waitUntilHandled(10_000);
  });

  it('two instances of one consumer share the partitions and handle nothing twice', async (t) => {
    const handledBy = new Map<string, number>();
    const consumer = defineConsumer({
      name: 'shared',
      handleBatch(events) {
        for (const e of events) handledBy.set(e.id, (handledBy.get(e.id) ?? 0) + 1);
        return Promise.resolve();
      },
    });
    const harness = await startConsumerHarness(t, consumer, { partitions: 6, instances: 2 });
    const [a, b] = harness.services.map((s) => s.runners[0]);
    assert.ok(a && b);
    const owned = await eventually(
      'the six partitions split between the two instances',
      async () => {
        const [pa, pb] = [await a.assignment(30_000), await b.assignment(30_000)];
        const partsA = pa.flatMap((x) => x.partitions);
        const partsB = pb.flatMap((x) => x.partitions);
        const all = [...partsA, ...partsB].sort();
        return partsA.length > 0 && partsB.length > 0 && JSON.stringify(all) === '[0,1,2,3,4,5]'
          ? { partsA, partsB }
          : undefined;
      },
      60_000,
    );
    const events = Array.from({ length: 300 }, () => sampleEvent());
    await harness.produce(events);
    await harness.waitUntilHandled();
    assert.equal(handledBy.size, 300);
    assert.ok(
      [...handledBy.values()].every((n) => n === 1),
      'nothing handled twice',
    );
    const counts = await Promise.all(
      harness.registries.map(async (r) => metricValue(await r.metrics(), 'pushtech_consumer_events_handled_total', '')),
    );
    assert.equal(counts[0]! + counts[1]!, 300);
    assert.ok(
      counts.every((n) => n > 0),
      `both instances handled events (${counts.join(', ')}; ${JSON.stringify(owned)})`,
    );
  });
});

describe('the dedup helper', () => {
  it('applies an event once, however often it is replayed', async (t) => {
    // Registered first, so it runs before testRedis' own cleanup quits the client.
    let removeState = (): Promise<unknown> => Promise.resolve();
    t.after(() => removeState());
    const redis = await testRedis(t);
    const counter = redis.key('counter');
    const markPrefix = `${redis.key('dedup')}:`;
    const dedup = createDedup(redis.client, { markPrefix, windowSeconds: 60 });
    const at = (id: string, offset: number) => ({
      id,
      source: { topic: 'events', partition: 0, offset: String(offset) },
    });
    // The third is a kafkastore replay of the first: the same id under a new offset.
    const events = [at('a', 0), at('b', 1), at('a', 2)];
    const write = (): { kind: 'incrby'; key: string; by: number }[] => [{ kind: 'incrby', key: counter, by: 1 }];
    removeState = async () => {
      const keys = await redis.client.keys(`${markPrefix}*`);
      if (keys.length > 0) await redis.client.del(...keys);
    };
    assert.equal(await dedup.applyOnce(events, write, [{ key: counter, seconds: 120 }]), 2);
    assert.equal(await dedup.applyOnce(events, write), 0);
    assert.equal(await redis.client.get(counter), '2');
    assert.ok((await redis.client.ttl(counter)) > 60);
    const claimed = await dedup.claim([at('a', 3), at('c', 4)]);
    assert.deepEqual(
      claimed.map((e) => e.id),
      ['c'],
    );
  });
});
