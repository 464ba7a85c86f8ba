/**
 * One owner per processing list (issue 19, finding 5): two kafkastores with the same
 * KAFKASTORE_INSTANCE each replayed what the other had in flight, 16,500 duplicates per 20,000
 * entries. Real Redis and Kafka; the services run as child processes, as in production.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPushtechError, createMetricsRegistry, silentLogger } from '@pushtech/runtime';
import { Redis } from 'ioredis';
import { eventually, testInfra, testKafka, uniqueName, type Cleanup } from '@pushtech/devstack/testing';
import { createHitQueue } from '../src/hit-queue.js';
import { createProcessingLease, ownerKey } from '../src/processing-lease.js';
import { serviceSetup, type ServiceSetup } from './helpers/env.js';
import { encodeHits, rawHit } from './helpers/hits.js';
import { overriding, runInProcess } from './helpers/in-process.js';
import { startService, type ServiceExit, type ServiceProcess } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

const BATCH = 100;
const TTL_MS = 1_500;

/** The tracker side: `count` hits in pushes of 100, a few milliseconds apart. */
async function pushHits(setup: ServiceSetup, count: number, ids: string[]): Promise<void> {
  for (let pushed = 0; pushed < count; pushed += 100) {
    const hits = Array.from({ length: Math.min(100, count - pushed) }, () => rawHit());
    await setup.redis.lpush(setup.queueKey, ...encodeHits(hits));
    ids.push(...hits.map((h) => h.id));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The exit, or a failure naming what was expected when the process is still running. */
async function exitWithin(service: ServiceProcess, ms: number, what: string): Promise<ServiceExit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function logged(service: ServiceProcess, pattern: RegExp): boolean {
  return service.logs.some((line) => pattern.test(JSON.stringify(line)));
}

describe('one kafkastore per processing list', () => {
  it('two kafkastores with one instance name sent most batches twice: the second now refuses', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH), KAFKASTORE_LEASE_TTL_MS: String(TTL_MS) });
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const first = startService(t, setup.env);
    await first.ready();
    const ids: string[] = [];
    const streaming = pushHits(setup, 20_000, ids);
    const second = startService(t, setup.env);
    // Its start-up (tsx, Redis, Kafka) comes on top: 10 s was too short once in CI under load.
    const exit = await exitWithin(second, 3 * TTL_MS + 45_000, 'the second kafkastore');
    await streaming;
    assert.equal(exit.code, 1, 'refused with a non-zero exit');
    assert.ok(
      logged(second, /KAFKASTORE_INSTANCE=\S+ is in use.*Give each instance its own KAFKASTORE_INSTANCE/),
      'the refusal names KAFKASTORE_INSTANCE and what to do',
    );
    await reader.waitForIds(ids, 60_000);
    assert.equal(reader.messages.length, ids.length, 'no duplicates: one owner, no crash');
    assert.equal(first.child.exitCode, null, 'the first one keeps draining');
    assert.match(await first.metrics(), /pushtech_kafkastore_lease\{state="held",service="kafkastore"\} 1/);
  });

  it('a restart after SIGKILL takes the list over before the old lease expired', async (t) => {
    // Far longer than a start of the service: the restart finds the killed one's lease.
    const ttlMs = 60_000;
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH), KAFKASTORE_LEASE_TTL_MS: String(ttlMs) });
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const first = startService(t, setup.env);
    await first.ready();
    const ids: string[] = [];
    await pushHits(setup, 2_000, ids);
    first.kill('SIGKILL');
    await first.exited;
    const started = Date.now();
    const second = startService(t, setup.env);
    await second.ready(30_000);
    assert.ok(logged(second, /took the processing list over from a kafkastore that stopped renewing/));
    // Renewed every second: two periods without a renewal, plus the start of the process.
    assert.ok(Date.now() - started < 15_000, `took over after ${Date.now() - started} ms, the lease runs for 60 s`);
    await pushHits(setup, 1_000, ids);
    await reader.waitForIds(ids, 60_000);
    // Duplicates only from the kill: the batch in flight and the one taken ahead.
    assert.ok(reader.messages.length - ids.length <= 2 * BATCH, `${reader.messages.length - ids.length} duplicates`);
  });

  it('a paused owner that lost its lease neither takes nor trims when it wakes up', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH), KAFKASTORE_LEASE_TTL_MS: String(TTL_MS) });
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const paused = startService(t, setup.env);
    await paused.ready();
    const ids: string[] = [];
    await pushHits(setup, 2_000, ids);
    paused.kill('SIGSTOP');
    t.after(() => void paused.kill('SIGCONT'));
    // Takes over a lease that is not renewed any more (not even expired yet, with a longer TTL).
    const owner = startService(t, setup.env);
    await owner.ready();
    const streaming = pushHits(setup, 5_000, ids);
    paused.kill('SIGCONT');
    const exit = await exitWithin(paused, 3 * TTL_MS + 10_000, 'the paused owner after SIGCONT');
    await streaming;
    assert.equal(exit.code, 1, 'stopped with a non-zero exit');
    assert.ok(logged(paused, /lease/), 'says it lost the lease');
    await reader.waitForIds(ids, 60_000);
    // The paused one may finish the send it was in (a duplicate batch); nothing more.
    assert.ok(reader.messages.length - ids.length <= 2 * BATCH, `${reader.messages.length - ids.length} duplicates`);
    assert.equal(owner.child.exitCode, null, 'the new owner keeps draining');
    await eventually('the lists to be empty', async () =>
      (await setup.redis.llen(setup.queueKey)) + (await setup.redis.llen(setup.processingKey)) === 0 ? true : undefined,
    );
  });
});

describe('start-up before the lease', () => {
  it("loads the Kafka client's code before it takes the lease", async (t) => {
    // Loading @platformatic/kafka holds the event loop for about 200 ms (more on a busy machine):
    // done after the lease was taken, a 1.5 s lease could expire unrenewed.
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: String(BATCH), KAFKASTORE_LEASE_TTL_MS: String(TTL_MS) });
    let leaseDuringPrepare: number | undefined;
    const { stop } = await runInProcess(t, setup, 'prepare-test', (inner) =>
      overriding(inner, {
        async prepare() {
          await inner.prepare();
          // Give a start that did not wait for this the time to take the lease meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 300));
          leaseDuringPrepare = await setup.redis.exists(ownerKey(setup.processingKey));
        },
      }),
    );
    assert.equal(leaseDuringPrepare, 0, 'prepare() ran, and finished before the lease was taken');
    await eventually('the lease to be taken', async () =>
      (await setup.redis.exists(ownerKey(setup.processingKey))) === 1 ? true : undefined,
    );
    // Before the test's keys, the lease among them, are deleted.
    await stop();
  });
});

describe('the lease and the fence in Redis', () => {
  async function redisFor(
    t: Cleanup,
  ): Promise<{ redis: Redis; other: Redis; incomingKey: string; processingKey: string }> {
    const { redisUrl } = await testInfra();
    const redis = new Redis(redisUrl);
    const other = new Redis(redisUrl);
    const incomingKey = uniqueName('test:kafkastore:lease');
    const processingKey = `${incomingKey}:processing:ks`;
    t.after(async () => {
      await redis.del(incomingKey, processingKey, ownerKey(processingKey));
      redis.disconnect();
      other.disconnect();
    });
    return { redis, other, incomingKey, processingKey };
  }

  function leaseOn(redis: Redis, processingKey: string, ttlMs: number, token: string) {
    return createProcessingLease({
      redis,
      processingKey,
      instance: 'ks',
      ttlMs,
      logger: silentLogger(),
      registry: createMetricsRegistry('lease-test', { processMetrics: false }),
      token,
    });
  }

  it('refuses a second holder, keeps the lease by renewing it, and releases only its own', async (t) => {
    const { redis, other, processingKey } = await redisFor(t);
    const first = leaseOn(redis, processingKey, 3_000, 'first');
    assert.equal(await first.acquire(), true);
    const second = leaseOn(other, processingKey, 3_000, 'second');
    await assert.rejects(second.acquire(), (error: unknown) => isPushtechError(error, 'PT_ERR_LEASE_HELD'));
    // Refused on seeing a renewal: the first one's lease outlived several of its expiries.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    assert.equal(await redis.get(ownerKey(processingKey)), 'first');
    await second.release();
    assert.equal(await redis.get(ownerKey(processingKey)), 'first', 'a refused lease releases nothing');
    await first.release();
    assert.equal(await redis.exists(ownerKey(processingKey)), 0);
  });

  it('takes over a lease that is no longer renewed, before it expires', async (t) => {
    const { redis, processingKey } = await redisFor(t);
    await redis.set(ownerKey(processingKey), 'killed-holder', 'PX', 60_000);
    const lease = leaseOn(redis, processingKey, 1_500, 'restarted');
    const started = Date.now();
    assert.equal(await lease.acquire(), true);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    assert.equal(await redis.get(ownerKey(processingKey)), 'restarted');
    await lease.release();
  });

  it('takes over at once a lease whose token shows it was last renewed long ago', async (t) => {
    const { redis, processingKey } = await redisFor(t);
    // Its token ends in its TTL (60 s); 55 s left means it was renewed 5 s ago, not every second.
    await redis.set(ownerKey(processingKey), 'host:1:abc:60000', 'PX', 55_000);
    const lease = leaseOn(redis, processingKey, 1_500, 'restarted');
    const started = Date.now();
    assert.equal(await lease.acquire(), true);
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
    await lease.release();
  });

  it('reports the lease lost when a renewal finds another owner', async (t) => {
    const { redis, other, processingKey } = await redisFor(t);
    const lease = leaseOn(redis, processingKey, 1_000, 'mine');
    await lease.acquire();
    await other.set(ownerKey(processingKey), 'someone-else');
    await assert.rejects(lease.lost, (error: unknown) => isPushtechError(error, 'PT_ERR_LEASE_LOST'));
    assert.equal(lease.state, 'lost');
    await lease.release();
    assert.equal(await redis.get(ownerKey(processingKey)), 'someone-else', 'never releases another owner’s lease');
  });

  it('fences take, take-ahead and ack by the owner’s token', async (t) => {
    const { redis, other, incomingKey, processingKey } = await redisFor(t);
    const key = ownerKey(processingKey);
    await redis.set(key, 'old');
    const queue = createHitQueue({
      main: redis,
      blocking: other,
      incomingKey,
      processingKey,
      lease: { key, token: 'old' },
    });
    await redis.lpush(incomingKey, 'e1', 'e2', 'e3', 'e4', 'e5', 'e6');
    const batch = await queue.take(3);
    assert.deepEqual(batch.entries, ['e1', 'e2', 'e3']);
    // Another instance took the lease over (this one was paused past its expiry).
    await redis.set(key, 'new');
    const lost = (error: unknown): boolean => isPushtechError(error, 'PT_ERR_LEASE_LOST');
    await assert.rejects(queue.ack(batch.entries), lost);
    await assert.rejects(queue.takeMore(3, 3), lost);
    await assert.rejects(queue.take(3), lost);
    assert.deepEqual(await redis.lrange(processingKey, 0, -1), ['e3', 'e2', 'e1'], 'nothing trimmed');
    assert.deepEqual(await redis.lrange(incomingKey, 0, -1), ['e6', 'e5', 'e4'], 'nothing taken');
  });
});
