import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '@pushtech/devstack/testing';
import { startTestKafidx, type Message, type TestKafidx } from './helpers.js';

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
