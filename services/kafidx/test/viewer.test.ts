import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeMessage } from '@pushtech/event';
import { Registry } from '@pushtech/runtime';
import { LiveBatch, prepareEvent } from '../src/event-view.js';
import { createKafidxMetrics } from '../src/metrics.js';
import { Viewer } from '../src/viewer.js';
import { trackingEvent } from './helpers.js';

interface Pair {
  readonly viewer: Viewer;
  /** Every WebSocket message the browser side received, as text. */
  readonly received: string[];
}

/** A Viewer on the server end of a real WebSocket on loopback, and what its client receives. */
async function viewers(t: TestContext, count: number, maxEventsPerSecond = 1000): Promise<Pair[]> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const metrics = createKafidxMetrics(new Registry());
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i += 1) {
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const received: string[] = [];
    client.on('message', (data: Buffer, isBinary) => {
      assert.equal(isBinary, false, 'event messages are text');
      received.push(data.toString('utf8'));
    });
    await once(client, 'open');
    const [socket] = await accepted;
    pairs.push({ viewer: new Viewer(socket, { maxEventsPerSecond, maxBufferedBytes: 1 << 20 }, metrics), received });
    t.after(() => client.terminate());
  }
  t.after(() => wss.close());
  return pairs;
}

function batchOf(...types: string[]): LiveBatch {
  return new LiveBatch(
    types.map((type, offset) =>
      prepareEvent({
        topic: 'events',
        partition: 0,
        offset: String(offset),
        timestamp: 1_763_880_000_000,
        key: null,
        value: Buffer.from(encodeMessage(trackingEvent(type, [['campaign', 'été "quoted"']]))),
        headers: {},
      }),
    ),
  );
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('viewer messages', () => {
  it('a browser that takes a whole batch gets it as one message, the same bytes as any other browser', async (t) => {
    const [a, b] = await viewers(t, 2);
    const batch = batchOf('a', 'b', 'c');
    a?.viewer.offer(batch);
    b?.viewer.offer(batch);
    // A second batch right behind the first: its fragments must not run into the first message.
    const next = batchOf('d');
    a?.viewer.offer(next);
    await until('both batches at a, the first at b', () => a?.received.length === 2 && b?.received.length === 1);
    assert.equal(a?.received[0], b?.received[0]);
    const first = JSON.parse(a?.received[0] ?? '') as { t: string; replay: boolean; events: Record<string, unknown>[] };
    assert.equal(first.t, 'events');
    assert.equal(first.replay, false);
    assert.deepEqual(
      first.events.map((e) => e['type']),
      ['a', 'b', 'c'],
    );
    // Non-ASCII params survive the shared UTF-8 payload.
    assert.deepEqual(first.events[0]?.['params'], [['campaign', 'été "quoted"']]);
    // Byte for byte what a browser that builds its own message would get.
    assert.equal(
      a?.received[0],
      `{"t":"events","replay":false,"skipped":0,"sampled":0,"events":[${batch.events.map((e) => e.json).join(',')}]}`,
    );
    assert.deepEqual(
      (JSON.parse(a?.received[1] ?? '') as { events: Record<string, unknown>[] }).events.map((e) => e['type']),
      ['d'],
    );
    assert.equal(batch.payload(), batch.payload(), 'the payload is built once per batch');
    assert.equal(a?.viewer.sent, 4);
  });

  it('a filtered or sampled browser gets only its part of the same batch', async (t) => {
    const [all, filtered, sampled] = await viewers(t, 3);
    const limited = (await viewers(t, 1, 2))[0];
    if (!all || !filtered || !sampled || !limited) throw new Error('no viewers');
    filtered.viewer.filter = { types: ['b'], text: '', country: '', device: '' };
    const batch = batchOf('a', 'b', 'c');
    for (const pair of [all, filtered, limited]) pair.viewer.offer(batch);
    await until('one message each', () => [all, filtered, limited].every((p) => p.received.length === 1));
    const types = (pair: Pair): unknown[] =>
      (JSON.parse(pair.received[0] ?? '') as { events: Record<string, unknown>[] }).events.map((e) => e['type']);
    assert.deepEqual(types(all), ['a', 'b', 'c']);
    assert.deepEqual(types(filtered), ['b']);
    assert.deepEqual(types(limited), ['a', 'b']);
    assert.match(limited.received[0] ?? '', /"sampled":1,/);
    assert.equal(sampled.received.length, 0);
  });
});
