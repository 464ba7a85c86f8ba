import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { createLogger, type Logger } from '@pushtech/runtime';
import { eventually, testAdmin } from '@pushtech/devstack/testing';
import { defineConsumer, transient, type AnyConsumerDefinition, type ConsumedEvent } from '../src/index.js';
import {
  assertHeld,
  assertRecovered,
  committed,
  deadLetterCount,
  fatalErrors,
  heldThroughRetries,
  metricSum,
  sampleEvent,
  startConsumerHarness,
  type ConsumerHarness,
} from '../src/testing/index.js';

async function metrics(h: ConsumerHarness, i = 0): Promise<string> {
  return (await h.registries[i]?.metrics()) ?? '';
}

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ service: 'outage-test', level: 'info', destination }), lines };
}

/** Starts the consumer and fails the test if any of its services reports a fatal error. */
async function start(
  t: TestContext,
  consumer: AnyConsumerDefinition,
  options: Parameters<typeof startConsumerHarness>[2] = {},
): Promise<{ h: ConsumerHarness; fatal: string[] }> {
  const h = await startConsumerHarness(t, consumer, { partitions: 1, ...options });
  return { h, fatal: fatalErrors(h) };
}

describe('an outage is not a poison message (issue 20)', () => {
  it('every event of a batch failing alone the same way is an outage: held, then handled once it goes through', async (t) => {
    let down = true;
    const handled = new Map<string, number>();
    const consumer = defineConsumer({
      name: 'all_fail_alike',
      handleBatch(events) {
        if (down) return Promise.reject(new Error('cannot reach the warehouse (attempt 12)'));
        for (const e of events) handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
        return Promise.resolve();
      },
    });
    const { h, fatal } = await start(t, consumer, { env: { CONSUMER_MAX_RETRIES: '1' } });
    const admin = await testAdmin(t);
    const events = Array.from({ length: 5 }, () => sampleEvent());
    await h.produce(events);
    await heldThroughRetries(h, 'all_fail_alike', 'same_error');
    await assertHeld(admin, h, 'all_fail_alike', fatal);
    down = false;
    await assertRecovered(admin, h, 'all_fail_alike', fatal);
    assert.deepEqual(
      events.map((e) => handled.get(e.meta.id)),
      [1, 1, 1, 1, 1],
    );
  });

  it('a failing handler while checkDependencies fails: held and not ready, no crash; handled once the dependency is back', async (t) => {
    let down = true;
    let handled = 0;
    const consumer = defineConsumer({
      name: 'broken',
      checkDependencies: () => (down ? Promise.reject(new Error('database unavailable')) : Promise.resolve()),
      handleBatch(events) {
        if (down) return Promise.reject(new Error(`write of ${events.length} rows failed`));
        handled += events.length;
        return Promise.resolve();
      },
    });
    const { h, fatal } = await start(t, consumer, { env: { CONSUMER_MAX_RETRIES: '1' } });
    const admin = await testAdmin(t);
    // The probe runs for readiness before any event arrives.
    const before = await eventually('the probe failing', async () => {
      const ready = await h.services[0]?.probes.ready();
      return ready?.ok === false ? ready.checks['consumer:broken'] : undefined;
    });
    assert.equal(before, 'dependency probe failed: database unavailable');
    await h.produce([sampleEvent(), sampleEvent(), sampleEvent()]);
    // Every event fails alone the same way; then each retry finds the probe failing.
    await heldThroughRetries(h, 'broken', 'dependency_down');
    await assertHeld(admin, h, 'broken', fatal);
    down = false;
    await assertRecovered(admin, h, 'broken', fatal);
    assert.equal(handled, 3);
  });

  it('a batch of one event: held while the probe fails, dead-lettered as poison once the probe passes', async (t) => {
    let probeDown = true;
    const consumer = defineConsumer({
      name: 'single',
      checkDependencies: () => (probeDown ? Promise.reject(new Error('index unavailable')) : Promise.resolve()),
      handleBatch: () => Promise.reject(new Error('field x is not a number')),
    });
    const { h, fatal } = await start(t, consumer, { env: { CONSUMER_MAX_RETRIES: '1' } });
    const admin = await testAdmin(t);
    await h.produce([sampleEvent({ type: 'lonely' })]);
    await heldThroughRetries(h, 'single', 'dependency_down');
    await assertHeld(admin, h, 'single', fatal);
    probeDown = false;
    const [letter] = await h.deadLetters(1);
    assert.match(letter?.value?.toString() ?? '', /^lonely /);
    assert.equal(letter?.headers['error'], 'field x is not a number');
    await h.waitUntilHandled();
    assert.equal(metricSum(await metrics(h), 'pushtech_consumer_outage', 'consumer="single"'), 0);
    assert.deepEqual(fatal, []);
  });

  it('an error marked transient holds the batch, even of one event, until it goes through', async (t) => {
    let down = true;
    const seen: string[] = [];
    const consumer = defineConsumer({
      name: 'marks_transient',
      handleBatch(events) {
        if (down) {
          const cause = new Error('HTTP 503 from the geo API');
          return Promise.reject(new Error('lookup failed', { cause: transient(cause) }));
        }
        seen.push(...events.map((e) => e.id));
        return Promise.resolve();
      },
    });
    const { h, fatal } = await start(t, consumer);
    const admin = await testAdmin(t);
    const event = sampleEvent();
    await h.produce([event]);
    await heldThroughRetries(h, 'marks_transient', 'transient');
    await assertHeld(admin, h, 'marks_transient', fatal);
    down = false;
    await assertRecovered(admin, h, 'marks_transient', fatal);
    assert.deepEqual(seen, [event.meta.id]);
  });

  it('a poison event among good ones of a Redis consumer (probe passing): only that one is dead-lettered', async (t) => {
    const bad = sampleEvent({ type: 'explodes' });
    const consumer = defineConsumer({
      name: 'redis_picky',
      redis: true,
      async handleBatch(events: readonly ConsumedEvent[], ctx) {
        if (events.some((e) => e.id === bad.meta.id)) throw new Error(`cannot handle ${bad.meta.id}`);
        await ctx.redis.incrby(`${ctx.keyPrefix}:count`, events.length);
      },
    });
    const { h, fatal } = await start(t, consumer, { env: { CONSUMER_MAX_RETRIES: '1' } });
    const good = Array.from({ length: 20 }, () => sampleEvent());
    await h.produce([...good.slice(0, 10), bad, ...good.slice(10)]);
    await h.waitUntilHandled();
    const letters = await h.deadLetters(1);
    assert.equal(letters.length, 1);
    assert.match(letters[0]?.value?.toString() ?? '', /^explodes /);
    assert.equal(letters[0]?.headers['reason'], 'handler_failed');
    assert.equal(await h.redis.get(`${h.keyPrefix}:redis_picky:count`), '20');
    const admin = await testAdmin(t);
    assert.equal(await deadLetterCount(admin, h), 1, 'exactly the poison event');
    assert.equal(metricSum(await metrics(h), 'pushtech_consumer_outage', 'consumer="redis_picky"'), 0);
    assert.deepEqual(fatal, []);
  });

  it('a rebalance during an outage: the consumer rejoins instead of ending, and handles the batch once it recovers', async (t) => {
    let down = true;
    const handled = new Map<string, number>();
    const consumer = defineConsumer({
      name: 'rebalanced',
      handleBatch(events) {
        if (down) return Promise.reject(transient(new Error('store unavailable')));
        for (const e of events) handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
        return Promise.resolve();
      },
    });
    const { logger, lines } = capturingLogger();
    const { h, fatal } = await start(t, consumer, { instances: 2, logger });
    const owners = await eventually(
      'the partition assigned to one of the two members',
      async () => {
        const parts = await Promise.all(
          h.services.map(async (s) => (await s.runners[0]!.assignment(30_000)).flatMap((a) => a.partitions)),
        );
        const owner = parts.findIndex((p) => p.length === 1);
        return owner >= 0 && parts[1 - owner]?.length === 0 ? { owner, idle: 1 - owner } : undefined;
      },
      60_000,
    );
    const events = Array.from({ length: 4 }, () => sampleEvent());
    await h.produce(events);
    await heldThroughRetries({ ...h, registries: [h.registries[owners.owner]!] }, 'rebalanced', 'transient');
    // The idle member leaves: the owner's next heartbeat learns of the rebalance.
    await h.services[owners.idle]!.stop();
    await eventually(
      'the held batch given back for the rebalance',
      () => (lines.some((l) => l.includes('held batch left uncommitted')) ? true : undefined),
      60_000,
    );
    down = false;
    await h.waitUntilHandled();
    assert.deepEqual(fatal, [], 'no consumer ended');
    assert.equal(h.services[owners.owner]!.runners[0]!.running, true);
    assert.deepEqual(
      events.map((e) => handled.get(e.meta.id)),
      [1, 1, 1, 1],
    );
    assert.equal(await deadLetterCount(await testAdmin(t), h), 0);
  });

  it('a probe that never answers counts as failed after 10 s: held, not dead-lettered, and stop still ends', async (t) => {
    const consumer = defineConsumer({
      name: 'hung_probe',
      checkDependencies: () => new Promise<void>(() => undefined),
      handleBatch: () => Promise.reject(new Error('field x is not a number')),
    });
    const { h, fatal } = await start(t, consumer, { env: { CONSUMER_MAX_RETRIES: '0' } });
    const admin = await testAdmin(t);
    await h.produce([sampleEvent()]);
    await eventually(
      'the batch held by the unanswered probe',
      async () =>
        metricSum(await metrics(h), 'pushtech_consumer_outage', 'reason="dependency_down"') === 1 ? true : undefined,
      30_000,
    );
    const ready = await h.services[0]?.probes.ready();
    assert.match(
      ready?.checks['consumer:hung_probe'] ?? '',
      /^outage \(dependency_down\): dependency probe unanswered/,
    );
    assert.equal(await deadLetterCount(admin, h), 0);
    await h.stop();
    assert.deepEqual(await committed(admin, h), ['-1']);
    assert.deepEqual(fatal, []);
  });

  it('stop during an outage ends the wait and leaves the batch uncommitted', async (t) => {
    const consumer = defineConsumer({
      name: 'stopped_while_held',
      handleBatch: () => Promise.reject(transient(new Error('store unavailable'))),
    });
    const { h, fatal } = await start(t, consumer);
    const admin = await testAdmin(t);
    await h.produce([sampleEvent(), sampleEvent()]);
    await heldThroughRetries(h, 'stopped_while_held', 'transient');
    await h.stop();
    assert.deepEqual(await committed(admin, h), ['-1']);
    assert.equal(await deadLetterCount(admin, h), 0);
    assert.deepEqual(fatal, []);
  });
});
