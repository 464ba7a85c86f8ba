/**
 * The drain on exit ends when the tracker has stopped writing (issue 19, finding 3): it used to
 * end after a quiet time, so a tracker that got SIGTERM at the same moment could still
 * acknowledge an event after kafkastore had gone. A tracker holds a lease in the writers set
 * while it may write; the test plays that tracker with ZADD and ZREM on the real Redis.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writersKey } from '@pushtech/runtime';
import { eventually, testKafka } from '@pushtech/devstack/testing';
import { serviceSetup, type ServiceSetup } from './helpers/env.js';
import { encodeHits, rawHit } from './helpers/hits.js';
import { startService, type ServiceProcess } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

async function push(setup: ServiceSetup, count: number): Promise<string[]> {
  const hits = Array.from({ length: count }, () => rawHit());
  await setup.redis.lpush(setup.queueKey, ...encodeHits(hits));
  return hits.map((h) => h.id);
}

function loggedMessage(service: ServiceProcess, msg: string): true | undefined {
  return service.logs.some((line) => line['msg'] === msg) ? true : undefined;
}

describe('the drain on exit', () => {
  it('ended on a quiet list while the tracker still wrote: now it waits until the writer left', async (t) => {
    // A quiet time far below the tracker's last writes: only the writer lease keeps the drain going.
    const setup = await serviceSetup(t, { KAFKASTORE_DRAIN_ON_EXIT: 'true', KAFKASTORE_DRAIN_QUIET_MS: '100' });
    const writers = writersKey(setup.queueKey);
    const service = startService(t, setup.env);
    await service.ready();
    // A tracker that crashed without leaving (its lease expired) is not waited for.
    await setup.redis.zadd(writers, Date.now() - 1_000, 'crashed-tracker', Date.now() + 60_000, 'tracker-1');
    const ids = await push(setup, 500);
    const before = await service.metrics();
    assert.match(before, /^pushtech_kafkastore_drain_started_seconds\{service="kafkastore"\} 0$/m);
    assert.match(before, /^pushtech_kafkastore_drain_budget_seconds\{service="kafkastore"\} 20$/m);
    const signalled = Date.now() / 1000;
    service.kill('SIGTERM');
    await eventually('the drain to wait for the writer', () =>
      loggedMessage(service, 'drain: list empty, waiting for the trackers to stop writing'),
    );
    // The ops port still answers while draining: the overrun alert reads when the drain began.
    const during = await service.metrics();
    const started = Number(
      /^pushtech_kafkastore_drain_started_seconds\{service="kafkastore"\} (\S+)$/m.exec(during)?.[1],
    );
    assert.ok(started >= Math.floor(signalled), `drain began at ${started}, SIGTERM sent at ${signalled}`);
    assert.ok(started <= Date.now() / 1000, `drain began at ${started}, not in the future`);
    assert.match(during, /^pushtech_ready\{service="kafkastore"\} 0$/m);
    // The tracker's last acknowledged events, after the list was empty.
    ids.push(...(await push(setup, 200)));
    await eventually('the late events to be taken', async () =>
      (await setup.redis.llen(setup.queueKey)) === 0 ? true : undefined,
    );
    assert.equal(service.child.exitCode, null, 'still draining while the writer holds its lease');
    await setup.redis.zrem(writers, 'tracker-1');
    const exit = await service.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(await setup.redis.llen(setup.queueKey), 0);
    assert.equal(await setup.redis.llen(setup.processingKey), 0);
    const reader = await readTopic(t, await testKafka(), setup.topic);
    await reader.waitForIds(ids);
  });

  it('ends at its deadline when a writer never leaves', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_DRAIN_ON_EXIT: 'true', KAFKASTORE_DRAIN_TIMEOUT_MS: '1500' });
    const writers = writersKey(setup.queueKey);
    const service = startService(t, setup.env);
    await service.ready();
    await setup.redis.zadd(writers, Date.now() + 600_000, 'stuck-tracker');
    const ids = await push(setup, 100);
    const signalled = Date.now();
    service.kill('SIGTERM');
    const exit = await service.exited;
    const took = Date.now() - signalled;
    assert.deepEqual(exit, { code: 0, signal: null }, 'the list was empty at the deadline');
    assert.ok(took >= 1_500 && took < 10_000, `exited ${took} ms after SIGTERM`);
    assert.ok(
      loggedMessage(
        service,
        'drain deadline reached while trackers still hold a writer lease; what they store from now on waits in Redis',
      ),
      'says which guarantee it could not keep',
    );
    const reader = await readTopic(t, await testKafka(), setup.topic);
    await reader.waitForIds(ids);
  });
});
