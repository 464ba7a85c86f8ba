import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { freePort } from '@pushtech/devstack';
import { eventually, testInfra, testRedis, type Cleanup, type TestRedis } from '@pushtech/devstack/testing';
import { writersKey } from '@pushtech/runtime';
import { WRITER_LEASE_MS } from '../src/writer-lease.js';
import { waitReady } from './helpers.js';
import { children, killTracker, spawnTracker, type TrackerProcess } from './tracker-process.js';

async function startTracker(
  t: Cleanup,
  workers: number,
): Promise<{ redis: TestRedis; writers: string; tracker: TrackerProcess }> {
  const redis = await testRedis(t);
  const queueKey = redis.key('hits');
  const writers = writersKey(queueKey);
  // No cleanup of its own: the set expires 10 s after the last renewal.
  const port = await freePort();
  const tracker = spawnTracker({
    REDIS_URL: (await testInfra()).redisUrl,
    REDIS_QUEUE_KEY: queueKey,
    TRACKER_PORT: String(port),
    TRACKER_WORKERS: String(workers),
  });
  t.after(() => killTracker(tracker));
  await waitReady(port, false, 45_000);
  return { redis, writers, tracker };
}

/** Members whose lease runs beyond now, as kafkastore's drain counts them. */
async function liveWriters(redis: TestRedis, writers: string): Promise<Map<string, number>> {
  const flat = await redis.client.zrangebyscore(writers, `(${Date.now()}`, '+inf', 'WITHSCORES');
  const live = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) live.set(flat[i] as string, Number(flat[i + 1]));
  return live;
}

describe('the writer lease kafkastore waits for', () => {
  it('is held while the tracker can write, renewed, and removed once it stopped', async (t) => {
    const { redis, writers, tracker } = await startTracker(t, 1);
    const id = `${hostname()}:${tracker.child.pid ?? 0}`;
    const first = (await liveWriters(redis, writers)).get(id);
    assert.ok(first !== undefined, 'registered once ready');
    assert.ok(first <= Date.now() + WRITER_LEASE_MS, 'the score is the expiry, at most 10 s ahead');
    await eventually('a renewal', async () => ((await liveWriters(redis, writers)).get(id) ?? 0) > first || undefined);

    tracker.child.kill('SIGTERM');
    assert.equal(await tracker.exited, 0, tracker.output.join(''));
    assert.equal(await redis.client.zscore(writers, id), null, 'removed at shutdown');
  });

  it('of a SIGKILLed tracker expires by itself within 10 s', async (t) => {
    const { redis, writers, tracker } = await startTracker(t, 1);
    const id = `${hostname()}:${tracker.child.pid ?? 0}`;
    tracker.child.kill('SIGKILL');
    const killedAt = Date.now();
    await tracker.exited;
    const expiry = Number(await redis.client.zscore(writers, id));
    assert.ok(
      expiry > killedAt && expiry <= killedAt + WRITER_LEASE_MS,
      `expires ${expiry - killedAt} ms after the kill`,
    );
    await eventually(
      'the lease expired',
      async () => ((await liveWriters(redis, writers)).size === 0 ? true : undefined),
      15_000,
    );
  });

  it('is held by each worker process, and all are removed when the supervisor stops them', async (t) => {
    const { redis, writers, tracker } = await startTracker(t, 2);
    const supervisor = tracker.child.pid ?? assert.fail('no pid');
    const workers = await eventually(
      'two workers',
      () => (children(supervisor).length === 2 ? children(supervisor) : undefined),
      20_000,
    );
    const expected = workers.map((pid) => `${hostname()}:${pid}`).sort();
    await eventually(
      'both workers registered',
      async () => {
        const live = [...(await liveWriters(redis, writers)).keys()].sort();
        return JSON.stringify(live) === JSON.stringify(expected) ? true : undefined;
      },
      20_000,
    );

    // A Ctrl-C reaches the whole process group: each worker gets SIGINT from the terminal as
    // well as the supervisor's request to stop, and must still stop gracefully.
    for (const pid of [supervisor, ...workers]) process.kill(pid, 'SIGINT');
    assert.equal(await tracker.exited, 0, tracker.output.join(''));
    assert.doesNotMatch(tracker.output.join(''), /second signal while stopping/);
    assert.equal(await redis.client.zcard(writers), 0, 'every worker removed its lease');
  });
});
