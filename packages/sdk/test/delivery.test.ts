/**
 * Batching, retries, backoff and drops, against a scripted tracker on a real socket: what goes
 * over the wire, when a batch is sent again (with the same ids), and when it is given up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, type Cleanup } from '@pushtech/devstack/testing';
import { createClient, type DropInfo, type Options, type RetryInfo } from '../src/index.js';
import { idsOf, scriptedTracker, type Answer } from './scripted-tracker.js';

/**
 * A client with no storage and nothing sent before flush() or a full batch, unless overridden;
 * shut down when the test ends (its timers would keep the process alive).
 */
function client(t: Cleanup, endpoint: string, options: Partial<Options> = {}) {
  const drops: DropInfo[] = [];
  const retries: RetryInfo[] = [];
  const c = createClient({
    endpoint,
    storage: null,
    flushIntervalMs: 3_600_000,
    onDrop: (info) => drops.push(info),
    onRetry: (info) => retries.push(info),
    ...options,
  });
  t.after(async () => {
    await c.shutdown();
  });
  return { c, drops, retries };
}

describe('batches', () => {
  it('sends at once when a batch is full, in batches of maxBatch, each event with _id, _ct and one _st per request', async (t) => {
    const tracker = await scriptedTracker(t);
    const { c } = client(t, tracker.endpoint, { maxBatch: 3 });
    const ids = Array.from({ length: 7 }, (_, i) => c.track('screen_view', { n: i, name: 'home', ok: true }));
    // No flush() and an interval of an hour: the full batch started the sending, which then
    // takes the whole queue.
    await eventually('all sent', () => (c.stats().sent === 7 ? true : undefined));
    assert.deepEqual(
      tracker.requests.map((r) => r.events.length),
      [3, 3, 1],
    );
    assert.deepEqual(idsOf(tracker.accepted()), ids);
    for (const request of tracker.requests) {
      assert.equal(request.url, '/t');
      const sentAt = new Set(request.events.map((e) => e.params['_st']));
      assert.equal(sentAt.size, 1, 'one _st per request');
      for (const e of request.events) {
        assert.equal(e.event, 'screen_view');
        assert.equal(e.params['name'], 'home');
        assert.equal(e.params['ok'], true);
        assert.ok(Number(e.params['_ct']) <= Number(e.params['_st']));
        assert.ok(Number(e.params['_ct']) > Date.now() - 60_000);
      }
    }
    assert.deepEqual(c.stats(), { queued: 0, sent: 7, dropped: 0, retries: 0 });
    await c.shutdown();
  });

  it('sends on the flush interval without a flush() call', async (t) => {
    const tracker = await scriptedTracker(t);
    const { c } = client(t, tracker.endpoint, { flushIntervalMs: 20 });
    const id = c.track('app_open');
    await eventually('the interval sent it', () => (tracker.accepted().length === 1 ? true : undefined));
    assert.deepEqual(idsOf(tracker.accepted()), [id]);
    await c.shutdown();
  });

  it('sends the write key as X-Write-Key', async (t) => {
    const tracker = await scriptedTracker(t, (r) =>
      r.headers['x-write-key'] === 'wk-1' ? { status: 200 } : { status: 401, body: 'no key' },
    );
    const { c, drops } = client(t, tracker.endpoint, { writeKey: 'wk-1' });
    c.track('app_open');
    assert.equal(await c.flush(), true);
    assert.deepEqual(drops, []);
    assert.equal(tracker.accepted().length, 1);
  });
});

describe('retries', () => {
  for (const [status, header] of [
    [503, '1'],
    [429, '2'],
  ] as const) {
    it(`waits for Retry-After on ${status}, then sends the same ids again`, async (t) => {
      const tracker = await scriptedTracker(t, (_, i) =>
        i === 0 ? { status, headers: { 'Retry-After': header }, body: '{"error":"busy"}' } : { status: 200 },
      );
      const { c, retries } = client(t, tracker.endpoint, { retryBaseMs: 5 });
      const ids = [c.track('a'), c.track('b')];
      assert.equal(await c.flush(), false, 'flush settles when the tracker refused');
      await eventually('onRetry', () => (retries.length === 1 ? true : undefined));
      assert.deepEqual(retries, [{ attempt: 1, delayMs: Number(header) * 1000, status, reason: '{"error":"busy"}' }]);
      // An explicit flush within the wait does not send: the tracker asked to wait.
      assert.equal(await c.flush(), false);
      assert.equal(tracker.requests.length, 1);
      await eventually('the retry', () => (tracker.accepted().length === 2 ? true : undefined));
      const [first, second] = tracker.requests;
      assert.deepEqual(idsOf(second?.events ?? []), ids);
      assert.deepEqual(idsOf(first?.events ?? []), ids);
      assert.ok(Number(second?.events[0]?.params['_st']) >= Number(first?.events[0]?.params['_st']) + 1000);
      assert.equal(await c.flush(), true);
      assert.deepEqual(c.stats(), { queued: 0, sent: 2, dropped: 0, retries: 1 });
    });
  }

  const failures: [string, Answer][] = [
    ['a reset connection', 'reset'],
    ['a 500', { status: 500, body: 'oops' }],
    ['a 502 with no body', { status: 502, body: '' }],
  ];
  for (const [what, failure] of failures) {
    it(`backs off exponentially with jitter after ${what}, and delivers each id once`, async (t) => {
      const tracker = await scriptedTracker(t, (_, i) => (i < 4 ? failure : { status: 200 }));
      const { c, retries } = client(t, tracker.endpoint, { retryBaseMs: 20, retryMaxMs: 100 });
      const ids = [c.track('a'), c.track('b'), c.track('c')];
      await c.flush();
      await eventually('delivered', () => (c.stats().sent === 3 ? true : undefined));
      assert.deepEqual(idsOf(tracker.accepted()), ids);
      assert.equal(tracker.requests.length, 5);
      for (const r of tracker.requests) assert.deepEqual(idsOf(r.events), ids, 'every attempt carries the same ids');
      // Full delay 20, 40, 80, then capped at 100; each with jitter in [50 %, 100 %].
      assert.deepEqual(
        retries.map((r) => r.attempt),
        [1, 2, 3, 4],
      );
      retries.forEach((r, i) => {
        const full = Math.min(100, 20 * 2 ** i);
        assert.ok(
          r.delayMs >= full / 2 && r.delayMs <= full,
          `retry ${i + 1}: ${r.delayMs} ms within ${full}/2..${full}`,
        );
        assert.equal(r.status, failure === 'reset' ? 0 : (failure as { status: number }).status);
        assert.notEqual(r.reason, '');
      });
      assert.deepEqual(c.stats(), { queued: 0, sent: 3, dropped: 0, retries: 4 });
    });
  }

  it('treats a request with no answer within timeoutMs as a network error', async (t) => {
    const tracker = await scriptedTracker(t, (_, i) => (i === 0 ? 'hang' : { status: 200 }));
    const { c, retries } = client(t, tracker.endpoint, { timeoutMs: 100, retryBaseMs: 10 });
    const id = c.track('a');
    assert.equal(await c.flush(), false);
    await eventually('onRetry', () => (retries.length === 1 ? true : undefined));
    assert.equal(retries[0]?.reason, 'no answer in 100 ms');
    assert.equal(retries[0]?.status, 0);
    await eventually('the retry', () => (tracker.accepted().length === 1 ? true : undefined));
    assert.deepEqual(idsOf(tracker.accepted()), [id]);
  });

  it('never retries forever: after maxRetries the batch is dropped, counted and reported', async (t) => {
    const tracker = await scriptedTracker(t, () => ({ status: 500, body: 'down' }));
    const { c, drops } = client(t, tracker.endpoint, { maxRetries: 2, retryBaseMs: 5 });
    const ids = [c.track('a'), c.track('b')];
    await c.flush();
    await eventually('given up', () => (drops.length === 1 ? true : undefined));
    assert.deepEqual(drops, [{ reason: 'gave up after 2 retries: down', status: 500, ids }]);
    assert.equal(tracker.requests.length, 3);
    assert.deepEqual(c.stats(), { queued: 0, sent: 0, dropped: 2, retries: 2 });
    assert.equal(await c.flush(), true);
  });
});

describe('drops', () => {
  for (const status of [401, 403, 404, 405]) {
    it(`drops the batch on ${status}, reports the tracker's reason, and does not retry`, async (t) => {
      const body = `{"error":"refused","detail":"status ${status}"}`;
      const tracker = await scriptedTracker(t, () => ({ status, body }));
      const { c, drops, retries } = client(t, tracker.endpoint, { retryBaseMs: 1 });
      const ids = [c.track('a'), c.track('b'), c.track('c')];
      assert.equal(await c.flush(), true);
      await eventually('reported', () => (drops.length === 1 ? true : undefined));
      assert.deepEqual(drops, [{ reason: body, status, ids }]);
      assert.equal(tracker.requests.length, 1);
      assert.deepEqual(retries, []);
      assert.deepEqual(c.stats(), { queued: 0, sent: 0, dropped: 3, retries: 0 });
    });
  }

  for (const status of [400, 413]) {
    it(`narrows a batch refused with ${status} down to the bad event: only it is dropped`, async (t) => {
      // As the tracker does: a batch with a bad item is refused whole and nothing of it stored.
      const tracker = await scriptedTracker(t, (r) =>
        r.events.some((e) => e.event === 'bad') ? { status, body: 'item: bad' } : { status: 200 },
      );
      const { c, drops } = client(t, tracker.endpoint, { maxBatch: 8 });
      const good = ['a', 'b', 'c'].map((name) => c.track(name));
      const bad = c.track('bad');
      good.push(...['d', 'e', 'f'].map((name) => c.track(name)));
      assert.equal(await c.flush(), true);
      await eventually('reported', () => (drops.length === 1 ? true : undefined));
      assert.deepEqual(idsOf(tracker.accepted()), good);
      assert.deepEqual(drops, [{ reason: 'item: bad', status, ids: [bad] }]);
      assert.equal(c.stats().dropped, 1);
    });
  }

  it('drops the oldest events when the queue is full, and counts them', async (t) => {
    const tracker = await scriptedTracker(t);
    const { c, drops } = client(t, tracker.endpoint, { maxBatch: 5, maxQueue: 5 });
    const ids = Array.from({ length: 8 }, (_, i) => c.track('e', { i }));
    assert.equal(await c.flush(), true);
    await eventually('reported', () => (drops.length === 3 ? true : undefined));
    assert.deepEqual(
      drops.flatMap((d) => d.ids),
      ids.slice(0, 3),
    );
    assert.ok(drops.every((d) => d.reason === 'queue full' && d.status === 0));
    assert.deepEqual(idsOf(tracker.accepted()), ids.slice(3));
    assert.deepEqual(c.stats(), { queued: 0, sent: 5, dropped: 3, retries: 0 });
  });

  it('keeps the batch on its way when the queue overflows meanwhile', async (t) => {
    const tracker = await scriptedTracker(t, (_, i) => (i === 0 ? 'hang' : { status: 200 }));
    const { c, drops } = client(t, tracker.endpoint, { maxBatch: 2, maxQueue: 3, timeoutMs: 300, retryBaseMs: 1 });
    const first = [c.track('a'), c.track('b')];
    await eventually('on its way', () => (tracker.requests.length === 1 ? true : undefined));
    const later = [c.track('c'), c.track('d')];
    await eventually('delivered', () => (tracker.accepted().length === 3 ? true : undefined));
    assert.deepEqual(idsOf(tracker.accepted()), [...first, later[1]]);
    assert.deepEqual(
      drops.flatMap((d) => d.ids),
      [later[0]],
    );
  });
});
