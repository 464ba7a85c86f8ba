import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, freshTopic } from '@pushtech/devstack/testing';
import { startTestKafidx, type Message, type TestKafidx } from './helpers.js';

const require = createRequire(import.meta.url);
/** kafkajs's consumer group: every fetch of a consumer, or a paused consumer's check, is a call of it. */
const consumerGroup = (
  require('kafkajs/src/consumer/consumerGroup.js') as { prototype: { fetch: (...args: unknown[]) => unknown } }
).prototype;

const typesOf = (events: Message[]): string[] => events.map((e) => String(e['type']));

async function metric(k: TestKafidx, name: string): Promise<number> {
  const text = await (await fetch(`${k.opsBase}/metrics`)).text();
  const value = new RegExp(`^${name}\\{service="kafidx"\\} (\\d+)`, 'm').exec(text)?.[1];
  assert.ok(value !== undefined, `${name} is in /metrics`);
  return Number(value);
}

describe('nobody watching', () => {
  it('reads and decodes nothing while no browser is connected; a browser then sees what comes after it', async (t) => {
    const k = await startTestKafidx(t);
    assert.equal(await metric(k, 'pushtech_kafidx_live'), 0, 'paused with no browser');
    await k.produce(Array.from({ length: 20 }, () => ({ type: 'unwatched' })));
    const s = await k.connect();
    assert.equal(await metric(k, 'pushtech_kafidx_live'), 1);
    await k.produce([{ type: 'a' }, { type: 'b' }, { type: 'c' }]);
    await eventually('3 events', () => (s.events().length >= 3 ? true : undefined));
    assert.deepEqual(typesOf(s.events()).sort(), ['a', 'b', 'c']);
    // Counted as read from Kafka: only the 3 produced while someone watched.
    assert.equal(await metric(k, 'pushtech_kafidx_events_in_total'), 3);
    s.close();
    await eventually('paused again once the browser left', async () =>
      (await metric(k, 'pushtech_kafidx_live')) === 0 ? true : undefined,
    );
  });

  it('asks Kafka about once a second per consumer while idle', async (t) => {
    // The broker's long poll answers an event at once, so this costs no latency while watched.
    const idle = await idleAsks(t, {}, 4);
    t.diagnostic(`asks per second: ${JSON.stringify(idle)}`);
    assert.ok(idle.live <= 2 && idle.letters <= 2, `asks per second: ${JSON.stringify(idle)}`);
  });

  it('control: with KAFIDX_FETCH_MAX_WAIT_MS 100 the same count sees about ten asks a second', async (t) => {
    const control = await idleAsks(t, { KAFIDX_FETCH_MAX_WAIT_MS: '100' }, 4);
    t.diagnostic(`asks per second: ${JSON.stringify(control)}`);
    assert.ok(control.live >= 5 && control.letters >= 5, `asks per second: ${JSON.stringify(control)}`);
  });

  it('reads nothing while every browser is paused; resume brings live events back', async (t) => {
    const k = await startTestKafidx(t);
    const a = await k.connect();
    const b = await k.connect();
    for (const s of [a, b]) {
      s.send({ t: 'pause' });
      await s.next((m) => m['t'] === 'paused');
    }
    assert.equal(await metric(k, 'pushtech_kafidx_live'), 0);
    await k.produce(Array.from({ length: 20 }, () => ({ type: 'while_paused' })));
    b.send({ t: 'resume' });
    await b.next((m) => m['t'] === 'resumed');
    await k.produce([{ type: 'after_resume' }]);
    await eventually('the resumed browser gets the new event', () => (b.events().length >= 1 ? true : undefined));
    assert.deepEqual(typesOf(b.events()), ['after_resume']);
    assert.deepEqual(a.events(), []);
    assert.equal(await metric(k, 'pushtech_kafidx_events_in_total'), 1);
  });
});

/**
 * How often each Kafka consumer of an idle kafidx (no browser, a dead-letter topic with nothing
 * new) fetches or checks, per second over `seconds`: the live consumer's group and the
 * dead-letter reader's.
 */
async function idleAsks(
  t: TestContext,
  env: Record<string, string>,
  seconds: number,
): Promise<{ live: number; letters: number }> {
  const calls = new Map<string, number>();
  const original = consumerGroup.fetch;
  t.mock.method(consumerGroup, 'fetch', function (this: { groupId: string }, ...args: unknown[]): unknown {
    calls.set(this.groupId, (calls.get(this.groupId) ?? 0) + 1);
    return Reflect.apply(original, this, args);
  });
  // A dead-letter topic of its own (the reader waits while the topic is missing).
  await startTestKafidx(t, { KAFKA_DLQ_TOPIC: await freshTopic(t, { partitions: 2 }), ...env });
  // Both consumers in their groups and asking (a group join takes a few seconds).
  await eventually(
    'the live consumer and the dead-letter reader fetch',
    () => (calls.size >= 2 ? true : undefined),
    30_000,
  );
  await sleep(1_000);
  calls.clear();
  await sleep(seconds * 1000);
  const per = (reader: boolean): number =>
    [...calls].filter(([group]) => group.includes('-reader-') === reader).reduce((sum, [, n]) => sum + n, 0) / seconds;
  return { live: per(false), letters: per(true) };
}
