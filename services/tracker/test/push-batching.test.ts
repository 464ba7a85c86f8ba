/**
 * Batching the writes to Redis at moderate rates (issue 21): the requests of a linger share one
 * LPUSH, a full batch goes without waiting for the linger, as does one with as many requests as
 * a linger gathered lately (a closed loop of connections), and a lone request is answered once
 * the linger ran out, without needing more traffic. Real Redis; the store's clock is node:test's
 * mock timers where "not before the linger" must be shown without a timing assertion.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@pushtech/runtime';
import { eventually, testRedis, type Cleanup } from '@pushtech/devstack/testing';
import { CLOSED_LOOP_REQUESTS, HitStore } from '../src/hit-store.js';
import { createTrackerMetrics } from '../src/metrics.js';
import { WriterLease } from '../src/writer-lease.js';
import { request, startTestTracker } from './helpers.js';

function histogramCount(metrics: string, name: string): number {
  return Number(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
}

async function pushCount(port: number): Promise<number> {
  return histogramCount((await request(port, 'GET', '/metrics')).text, 'pushtech_tracker_push_batch_events');
}

/** A HitStore on the test Redis, its writer lease registered. */
async function storeFor(
  t: Cleanup,
  options: { lingerMs: number; maxBatch: number },
): Promise<{ store: HitStore; llen: () => Promise<number>; roundTrip: () => Promise<void> }> {
  const redis = await testRedis(t);
  const key = redis.key('hits');
  const client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false });
  await client.connect();
  const lease = new WriterLease(client, { queueKey: key, writerId: 'push-batching-test', logger: silentLogger() });
  const metrics = createTrackerMetrics(createMetricsRegistry('push-batching-test', { processMetrics: false }));
  const store = new HitStore(client, {
    key,
    maxQueue: 1_000_000,
    retryAfterSeconds: 1,
    logger: silentLogger(),
    metrics,
    lease,
    ...options,
  });
  t.after(async () => {
    store.close();
    await lease.release();
    client.disconnect();
  });
  await eventually('the writer lease', () => lease.registered || undefined);
  return {
    store,
    llen: () => redis.client.llen(key),
    // A loop turn, then a command on the store's own connection: an LPUSH sent before it has
    // been answered by then.
    roundTrip: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await client.ping();
    },
  };
}

/** Whether `promise` has settled yet. */
function tracked(promise: Promise<void>): { readonly settled: boolean; readonly done: Promise<void> } {
  const state = { settled: false, done: promise };
  void promise.then(() => (state.settled = true));
  return state;
}

describe('batching the writes to Redis', () => {
  // A regression hangs on the mocked clock: the timeout turns that into a failure.
  it(
    'a full batch goes without waiting for the linger; a lone event goes when the linger runs out',
    { timeout: 30_000 },
    async (t) => {
      const { store, llen, roundTrip } = await storeFor(t, { lingerMs: 60_000, maxBatch: 3 });
      t.mock.timers.enable({ apis: ['setTimeout'] });

      const lone = tracked(store.store(['a']));
      await roundTrip();
      assert.equal(lone.settled, false, 'a lone event waits for others during the linger');
      assert.equal(await llen(), 0);

      // Two more make three, a full batch: they go now, the clock untouched.
      await Promise.all([store.store(['b']), store.store(['c']), lone.done]);
      assert.equal(await llen(), 3);

      const late = tracked(store.store(['d']));
      await roundTrip();
      assert.equal(late.settled, false);
      assert.equal(await llen(), 3);
      // The linger ran out: the lone event goes, though nothing else arrived.
      t.mock.timers.tick(60_000);
      await late.done;
      assert.equal(await llen(), 4);
      await store.idle();
    },
  );

  it(
    'as many requests as a linger gathered lately go without waiting for it; fewer still wait',
    { timeout: 30_000 },
    async (t) => {
      const { store, llen, roundTrip } = await storeFor(t, { lingerMs: 60_000, maxBatch: 1_000 });
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const n = CLOSED_LOOP_REQUESTS;
      const entries = (round: string): string[] => Array.from({ length: n }, (_, i) => `${round}${i}`);

      // The first linger gathers n requests (n keep-alive connections, each waiting).
      const first = entries('a').map((e) => tracked(store.store([e])));
      await roundTrip();
      assert.ok(first.every((r) => !r.settled));
      t.mock.timers.tick(60_000);
      await Promise.all(first.map((r) => r.done));
      assert.equal(await llen(), n);

      // The same n ask again: when the last one waits, nothing else can come; they go now, the
      // clock untouched (with the linger alone this would hang until the test's timeout).
      await Promise.all(entries('b').map((e) => store.store([e])));
      assert.equal(await llen(), 2 * n);

      // One fewer: they wait for the linger, and share it.
      const fewer = entries('c')
        .slice(1)
        .map((e) => tracked(store.store([e])));
      await roundTrip();
      assert.ok(fewer.every((r) => !r.settled));
      assert.equal(await llen(), 2 * n);
      t.mock.timers.tick(60_000);
      await Promise.all(fewer.map((r) => r.done));
      assert.equal(await llen(), 3 * n - 1);
      await store.idle();
    },
  );

  it(
    'lingers that gathered fewer than CLOSED_LOOP_REQUESTS do not end the next ones early',
    { timeout: 30_000 },
    async (t) => {
      const { store, llen, roundTrip } = await storeFor(t, { lingerMs: 60_000, maxBatch: 1_000 });
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const few = Array.from({ length: CLOSED_LOOP_REQUESTS - 1 }, (_, i) => `a${i}`);
      const first = few.map((e) => tracked(store.store([e])));
      await roundTrip();
      t.mock.timers.tick(60_000);
      await Promise.all(first.map((r) => r.done));
      // As many again, as at a moderate rate: they still wait for the linger.
      const next = few.map((e) => tracked(store.store([`b${e}`])));
      await roundTrip();
      assert.ok(next.every((r) => !r.settled));
      assert.equal(await llen(), few.length);
      t.mock.timers.tick(60_000);
      await Promise.all(next.map((r) => r.done));
      assert.equal(await llen(), 2 * few.length);
    },
  );

  it('a batch request larger than the batch goes at once, whole', { timeout: 30_000 }, async (t) => {
    const { store, llen } = await storeFor(t, { lingerMs: 60_000, maxBatch: 3 });
    t.mock.timers.enable({ apis: ['setTimeout'] });
    await store.store(['a', 'b', 'c', 'd', 'e']);
    assert.equal(await llen(), 5);
  });

  it('at a steady moderate rate, requests share LPUSHes; the last one is answered without more traffic', async (t) => {
    // One request every 5 ms, each alone in its loop turn: without a linger, one LPUSH each.
    const tt = await startTestTracker(t, { TRACKER_PUSH_LINGER_MS: '100' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    t.after(() => agent.destroy());
    const before = await pushCount(tt.port);
    const n = 60;
    const answers: Promise<number>[] = [];
    for (let i = 0; i < n; i += 1) {
      answers.push(request(tt.port, 'GET', `/t/paced?i=${i}`, { agent }).then((r) => r.status));
      await sleep(5);
    }
    assert.deepEqual(new Set(await Promise.all(answers)), new Set([204]));
    const pushes = (await pushCount(tt.port)) - before;
    assert.ok(pushes <= n / 4, `${n} requests at a steady rate took ${pushes} LPUSHes`);
    assert.equal((await tt.stored()).length, n);

    // Alone, with no traffic after it: answered once its linger ran out.
    assert.equal((await request(tt.port, 'GET', '/t/lone', { agent })).status, 204);
    assert.equal((await pushCount(tt.port)) - before, pushes + 1);
    assert.equal((await tt.stored()).length, n + 1);
  });
});
