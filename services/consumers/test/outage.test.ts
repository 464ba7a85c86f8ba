import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  assertHeld,
  assertRecovered,
  fatalErrors,
  heldThroughRetries,
  sampleEvent,
  startConsumerHarness,
  type ConsumerHarness,
} from '@pushtech/consumer-kit/testing';
import { fillFilesystem, freePort, mountSmallFilesystem, startRedisServer } from '@pushtech/devstack';
import { eventually, skipWithoutDiskPressure, testAdmin } from '@pushtech/devstack/testing';
import { archiver } from '../src/consumers/archiver.js';
import { eventCounter } from '../src/consumers/event-counter.js';
import { readArchive } from './helpers.js';

/** Before any event: the writing probe alone makes the consumer not ready (a PING would not). */
async function probeFails(h: ConsumerHarness, consumer: string, why: RegExp): Promise<void> {
  const check = await eventually(`the ${consumer} probe failing`, async () => {
    const ready = await h.services[0]?.probes.ready();
    return ready?.ok === false ? ready.checks[`consumer:${consumer}`] : undefined;
  });
  assert.match(check ?? '', why);
}

describe('consumers during an outage of their Redis or disk (issue 20)', () => {
  it('event_counter with its Redis at maxmemory: nothing dead-lettered or committed; all 20 counted once after', async (t) => {
    // A Redis of this test alone: maxmemory is never lowered on the shared test Redis.
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-oom-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = await startRedisServer({ port: await freePort(), dir, appendOnly: false });
    t.after(() => server.stop());
    const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    await redis.connect();
    t.after(() => void redis.disconnect());
    await redis.set('filler', Buffer.alloc(4 << 20));
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(1 << 20));
    await assert.rejects(redis.set('check', '1'), /^ReplyError: OOM /, 'the Redis is full');

    const h = await startConsumerHarness(t, eventCounter, { partitions: 1, env: { REDIS_URL: server.url } });
    const fatal = fatalErrors(h);
    const admin = await testAdmin(t);
    await probeFails(h, 'event_counter', /^dependency probe failed: OOM command not allowed/);
    const events = Array.from({ length: 20 }, (_, i) => sampleEvent({ type: `e${i % 2}` }));
    await h.produce(events);
    await heldThroughRetries(h, 'event_counter', 'redis_oom');
    await assertHeld(admin, h, 'event_counter', fatal);
    assert.match(
      (await h.services[0]?.probes.ready())?.checks['consumer:event_counter'] ?? '',
      /^outage \(redis_oom\): OOM command not allowed/,
    );
    assert.deepEqual(await redis.hgetall(`${h.keyPrefix}:event_counter:total`), {}, 'nothing counted');

    await redis.config('SET', 'maxmemory', '0');
    await assertRecovered(admin, h, 'event_counter', fatal);
    assert.deepEqual(await redis.hgetall(`${h.keyPrefix}:event_counter:total`), { e0: '10', e1: '10' });
  });

  it('archiver on a full filesystem: nothing dead-lettered or committed, no .tmp left; archived once after', async (t) => {
    await skipWithoutDiskPressure(t, async () => {
      // Cleanups in reverse: the consumer stops before the filesystem goes.
      const cleanups: (() => Promise<void> | void)[] = [];
      t.after(async () => {
        for (const cleanup of cleanups.reverse()) await cleanup();
      });
      const parent = mkdtempSync(path.join(tmpdir(), 'archive-full-'));
      cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
      const dir = path.join(parent, 'archive');
      cleanups.push(mountSmallFilesystem(dir, 1 << 20));
      const filler = fillFilesystem(dir);
      cleanups.push(() => filler.release());
      assert.equal(filler.freeAfter, 0, 'the filesystem is full');

      const h = await startConsumerHarness({ after: (fn) => void cleanups.push(fn) }, archiver, {
        partitions: 1,
        env: { ARCHIVE_DIR: dir },
      });
      const fatal = fatalErrors(h);
      const admin = await testAdmin(t);
      await probeFails(h, 'archiver', /^dependency probe failed: ENOSPC/);
      const events = Array.from({ length: 10 }, () => sampleEvent());
      await h.produce(events);
      await heldThroughRetries(h, 'archiver', 'disk_full');
      await assertHeld(admin, h, 'archiver', fatal);
      const temporary = (): string[] =>
        readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
          (f) => f.endsWith('.tmp') || f.includes('.probe'),
        );
      // Each retry writes (and removes) a temporary file; none may stay between the attempts.
      await eventually('no temporary file left by the failed writes', () =>
        temporary().length === 0 ? true : undefined,
      );
      assert.deepEqual(readArchive(dir), [], 'nothing archived');

      filler.release();
      await assertRecovered(admin, h, 'archiver', fatal);
      assert.deepEqual(
        readArchive(dir)
          .map((e) => e.id)
          .sort(),
        events.map((e) => e.meta.id).sort(),
        'every event archived once',
      );
      await h.stop();
      assert.deepEqual(temporary(), [], 'no temporary file left once stopped');
    });
  });
});
