import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createEventIdGenerator } from '@pushtech/event';
import { freePort, startRedisServer, type RedisServer } from '@pushtech/devstack';
import { createDedup, DEDUP_ID_TIME_MARGIN_MS, type CounterOp, type DedupEvent } from '../src/index.js';

const WINDOW_S = 900;
const BUCKET_MS = (WINDOW_S * 1000) / 3;

// A Redis of its own: INFO commandstats counts every client's commands, and these tests count.
let server: RedisServer;
let redis: Redis;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dedup-cost-'));
  server = await startRedisServer({ port: await freePort(), dir, appendOnly: false });
  redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
});
after(async () => {
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Calls per command since the last reset, as Redis counts them (a script's own calls included). */
async function commandCalls(): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  return new Map([...text.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1] as string, Number(m[2])]));
}

describe('dedup cost per batch', () => {
  it('applies a batch in one Redis call, and looks an id up only in the buckets since its time', async () => {
    // Mid-bucket: an id minted now, less the clock margin, is in the current bucket.
    const clock = { ms: 1_800_000_000_000 + BUCKET_MS / 2 };
    const newId = createEventIdGenerator({ now: () => clock.ms });
    const dedup = createDedup(redis, { markPrefix: 'cost:', windowSeconds: WINDOW_S, now: () => clock.ms });
    const count = (): CounterOp[] => [{ kind: 'incrby', key: 'cost-counter', by: 1 }];
    let offset = 0;
    const batch = (n: number): DedupEvent[] =>
      Array.from({ length: n }, () => ({
        id: newId(),
        source: { topic: 'events', partition: 0, offset: String(offset++) },
      }));
    // Two buckets of history: the first holds the ids of `first`.
    const first = batch(100);
    assert.equal(await dedup.applyOnce(first, count), 100);
    clock.ms += BUCKET_MS;
    assert.equal(await dedup.applyOnce(batch(100), count), 100);
    clock.ms += BUCKET_MS;

    await redis.config('RESETSTAT');
    assert.equal(await dedup.applyOnce(batch(300), count), 300);
    const calls = await commandCalls();
    assert.equal(calls.get('evalsha'), 1, 'one call for the batch');
    assert.equal(calls.get('eval'), undefined, 'the script is not sent again');
    // Ids minted now cannot be in an earlier bucket: no set of one is asked.
    assert.equal(calls.get('sismember') ?? 0, 0);
    // The current bucket's sets (16, from the 100 events of the bucket before) are asked and
    // marked once each for the whole batch, not once per event.
    assert.equal(calls.get('smismember'), 16);
    assert.equal(calls.get('sadd'), 16);
    // 300 events of one counter: one write of 300, not 300 writes of 1.
    assert.equal(calls.get('incrby'), 1);

    // The first ids again under new offsets (a kafkastore replay), two buckets later: found.
    const replay = first.map((e) => ({
      id: e.id,
      source: { topic: 'events', partition: 1, offset: String(offset++) },
    }));
    assert.equal(await dedup.applyOnce(replay, count), 0);
    assert.equal(Number(await redis.get('cost-counter')), 500);
  });
  it('looks a new id up in no older generation of the current bucket once it outgrew them', async () => {
    // Early in a bucket (1.8e12 is a bucket start), so that the margin later is still in it.
    const clock = { ms: 1_800_000_000_000 + BUCKET_MS / 4 };
    const newId = createEventIdGenerator({ now: () => clock.ms });
    const dedup = createDedup(redis, { markPrefix: 'gens:', windowSeconds: WINDOW_S, now: () => clock.ms });
    const count = (): CounterOp[] => [{ kind: 'incrby', key: 'gens-counter', by: 1 }];
    let offset = 0;
    const batch = (n: number): DedupEvent[] =>
      Array.from({ length: n }, () => ({
        id: newId(),
        source: { topic: 'events', partition: 0, offset: String(offset++) },
      }));
    // A burst with no bucket before: the bucket opens generations of 16, 64 and 256 sets.
    const burst = batch(30_000);
    assert.equal(await dedup.applyOnce(burst, count), 30_000);
    clock.ms += DEDUP_ID_TIME_MARGIN_MS + 1;
    await redis.config('RESETSTAT');
    assert.equal(await dedup.applyOnce(batch(300), count), 300);
    assert.equal((await commandCalls()).get('sismember') ?? 0, 0);
    // The burst again under new offsets: found in whichever generation holds each id.
    const replay = burst.map((e) => ({
      id: e.id,
      source: { topic: 'events', partition: 1, offset: String(offset++) },
    }));
    assert.equal(await dedup.applyOnce(replay, count), 0);
    assert.equal(Number(await redis.get('gens-counter')), 30_300);
  });

  it('applies a batch of device-minted ids in one Redis call too, asking one set per earlier bucket', async () => {
    const clock = { ms: 1_800_000_000_000 + BUCKET_MS / 2 };
    // Devices whose clocks run 10 minutes ahead: their ids' time says nothing of when they came.
    const deviceId = createEventIdGenerator({ now: () => clock.ms + 600_000 });
    const dedup = createDedup(redis, { markPrefix: 'client:', windowSeconds: WINDOW_S, now: () => clock.ms });
    const count = (): CounterOp[] => [{ kind: 'incrby', key: 'client-counter', by: 1 }];
    let offset = 0;
    const batch = (ids: readonly string[]): DedupEvent[] =>
      ids.map((id) => ({
        id,
        source: { topic: 'events', partition: 0, offset: String(offset++) },
        meta: { idSource: 'client' },
      }));
    const first = Array.from({ length: 100 }, () => deviceId());
    assert.equal(await dedup.applyOnce(batch(first), count), 100);
    clock.ms += BUCKET_MS;
    assert.equal(await dedup.applyOnce(batch(Array.from({ length: 100 }, () => deviceId())), count), 100);
    clock.ms += BUCKET_MS;

    await redis.config('RESETSTAT');
    assert.equal(await dedup.applyOnce(batch(Array.from({ length: 300 }, () => deviceId())), count), 300);
    const calls = await commandCalls();
    assert.equal(calls.get('evalsha'), 1, 'one call for the batch');
    // Each id is asked in the one set generation of each of the two earlier buckets.
    assert.equal(calls.get('sismember'), 300 * 2);
    // The first ids again two buckets later (the devices' retries): all found.
    assert.equal(await dedup.applyOnce(batch(first), count), 0);
    assert.equal(Number(await redis.get('client-counter')), 500);
  });
});
