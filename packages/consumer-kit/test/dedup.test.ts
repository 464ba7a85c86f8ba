import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createEventIdGenerator } from '@pushtech/event';
import { testInfra, uniqueName, type Cleanup } from '@pushtech/devstack/testing';
import { createDedup, dedupKeyBound, isConsumerKitError, type CounterOp, type DedupEvent } from '../src/index.js';

const WINDOW_S = 60;
const BUCKET_MS = (WINDOW_S * 1000) / 3;

/** A dedup state of its own (removed after the test) and a clock the test moves. */
async function setup(t: Cleanup, windowSeconds = WINDOW_S) {
  // A client of its own: the state is scanned and removed after the test, before it quits.
  const redis = { client: new Redis((await testInfra()).redisUrl, { maxRetriesPerRequest: 3 }) };
  const prefix = uniqueName('test:dedup');
  const clock = { ms: 1_800_000_000_000 };
  const dedup = createDedup(redis.client, {
    markPrefix: `${prefix}:`,
    windowSeconds,
    now: () => clock.ms,
  });
  const counter = `${prefix}-counter`;
  t.after(async () => {
    const keys = [...(await scanKeys(redis.client, `${prefix}*`))];
    if (keys.length > 0) await redis.client.del(...keys);
    await redis.client.quit();
  });
  const count = (): CounterOp[] => [{ kind: 'incrby', key: counter, by: 1 }];
  return {
    /** Keys starting with it are removed after the test. */
    prefix,
    redis: redis.client,
    dedup,
    clock,
    count,
    total: async () => Number((await redis.client.get(counter)) ?? 0),
    stateKeys: () => scanKeys(redis.client, `${prefix}:*`),
  };
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<string[]>) {
    keys.push(...batch);
  }
  return keys;
}

function event(id: string, offset: number, partition = 0): DedupEvent {
  return { id, source: { topic: 'events', partition, offset: String(offset) } };
}

/** `n` events on one partition from `offset` on, with ids `<ids>-<firstId + i>`. */
function run(
  n: number,
  {
    offset = 0,
    partition = 0,
    ids = 'e',
    firstId = offset,
  }: { offset?: number; partition?: number; ids?: string; firstId?: number } = {},
): DedupEvent[] {
  return Array.from({ length: n }, (_, i) => event(`${ids}-${firstId + i}`, offset + i, partition));
}

describe('dedup: offsets and compact, time-bounded ids', () => {
  it('skips a Kafka redelivery by its offset, with no key per event', async (t) => {
    const { dedup, count, total, stateKeys, redis } = await setup(t);
    const batch = [...run(1500), ...run(1500, { partition: 1, ids: 'p1' })];
    assert.equal(await dedup.applyOnce(batch, count), 3000);
    const keys = await stateKeys();
    assert.ok(
      keys.length <= dedupKeyBound(WINDOW_S, 1),
      `${keys.length} keys for 3000 events: ${keys.slice(0, 5).join(', ')}`,
    );
    // Without the id sets, the offsets alone still skip the redelivered batch (and a part of it).
    const idKeys = keys.filter((k) => k.includes(':ids:'));
    await redis.del(...idKeys);
    assert.equal(await dedup.applyOnce(batch, count), 0);
    assert.equal(await dedup.applyOnce(run(500, { offset: 1000 }), count), 0);
    assert.equal(await total(), 3000);
    // A later offset of the same partition is new.
    assert.equal(await dedup.applyOnce([event('new', 1500, 0)], count), 1);
    assert.equal(await total(), 3001);
  });

  it('applies a rebatched, overlapping redelivery exactly once, across script chunks', async (t) => {
    const { dedup, count, total } = await setup(t);
    assert.equal(await dedup.applyOnce(run(700), count), 700);
    assert.equal(await dedup.applyOnce(run(900, { offset: 300 }), count), 500);
    assert.equal(await dedup.applyOnce(run(1200), count), 0);
    assert.equal(await total(), 1200);
  });

  it('skips the same id under a new offset (kafkastore replay) within the window, and counts it after', async (t) => {
    const { dedup, clock, count, total } = await setup(t);
    assert.equal(await dedup.applyOnce(run(100, { ids: 'a' }), count), 100);
    // The replay arrives later on another partition, with new offsets, within the window.
    clock.ms += WINDOW_S * 1000 - 1;
    const replay = run(100, { offset: 5000, partition: 3, ids: 'a', firstId: 0 });
    assert.equal(await dedup.applyOnce(replay.slice(0, 50), count), 0);
    assert.equal(await total(), 100);
    // Past window + one bucket, the ids are forgotten: the same id is an event again.
    clock.ms += BUCKET_MS + 1;
    assert.equal(await dedup.applyOnce(replay.slice(50), count), 50);
    assert.equal(await total(), 150);
  });

  it('skips a duplicate id inside one call, and a claim is not repeated', async (t) => {
    const { dedup, count, total } = await setup(t);
    assert.equal(await dedup.applyOnce([event('x', 0), event('y', 1), event('x', 2)], count), 2);
    assert.equal(await total(), 2);
    const claimed = await dedup.claim([event('x', 3), event('z', 4), event('z', 5)]);
    assert.deepEqual(
      claimed.map((e) => `${e.id}@${e.source.offset}`),
      ['z@4'],
    );
    assert.deepEqual(await dedup.claim([event('z', 4), event('w', 6)]), [event('w', 6)]);
  });

  it("takes a fingerprint kept by an event's meta only for its own id", async (t) => {
    // Consumers that share decodes share meta objects, and with them each id's fingerprint.
    const { dedup, count, total } = await setup(t);
    const shared = {};
    const withMeta = (id: string, offset: number, meta: object): DedupEvent => ({ ...event(id, offset), meta });
    assert.equal(await dedup.applyOnce([withMeta('m-1', 0, shared), withMeta('m-2', 1, shared)], count), 2);
    // The same ids again, each under a meta of its own: both are known.
    assert.equal(await dedup.applyOnce([withMeta('m-2', 2, {}), withMeta('m-1', 3, {}), event('m-3', 4)], count), 1);
    assert.equal(await total(), 3);
  });

  it('keeps the state bounded by buckets x sets at a sustained rate, as intsets of 8 bytes a member', async (t) => {
    const { dedup, clock, count, total, stateKeys, redis } = await setup(t);
    const rate = 500; // events per synthetic second, for three windows
    const seconds = 3 * WINDOW_S;
    let offset = 0;
    for (let s = 0; s < seconds; s += 2) {
      assert.equal(await dedup.applyOnce(run(2 * rate, { offset }), count), 2 * rate);
      offset += 2 * rate;
      clock.ms += 2000;
    }
    assert.equal(await total(), rate * seconds);
    const keys = await stateKeys();
    const bound = dedupKeyBound(WINDOW_S, rate);
    assert.ok(keys.length <= bound, `${keys.length} keys > bound ${bound}`);
    const sets = keys.filter((k) => /:ids:\d+:\d+:\d+$/.test(k));
    let members = 0;
    let bytes = 0;
    for (const key of sets) {
      assert.equal(await redis.object('ENCODING', key), 'intset', `${key} is not an intset`);
      members += await redis.scard(key);
      bytes += Number(await redis.memory('USAGE', key));
    }
    // Remembered: the window and at most one bucket more, not the whole run.
    assert.ok(members >= rate * WINDOW_S && members <= rate * (WINDOW_S + BUCKET_MS / 1000), `${members} ids kept`);
    assert.ok(bytes / members < 12, `${(bytes / members).toFixed(1)} bytes per remembered id`);
    // The finished buckets' sets expire on their own (a consumer that never comes back).
    const current = Math.floor((clock.ms - 2000) / BUCKET_MS) * BUCKET_MS; // the last call's bucket
    for (const key of sets.filter((k) => !k.includes(`:ids:${current}:`)).slice(0, 50)) {
      assert.ok((await redis.pttl(key)) > 0, `${key} has no expiry`);
    }
  });

  it('grows the sets of a bucket with the rate, and still finds ids kept in fewer sets before', async (t) => {
    const { dedup, clock, count, total, redis, stateKeys } = await setup(t);
    // A bucket at 50 events/s, then two at 500 events/s: a bucket's set count follows the
    // event count of the bucket before it.
    let offset = 0;
    const bucket = async (rate: number, ids: string): Promise<void> => {
      for (let s = 0; s < BUCKET_MS / 1000; s += 1, clock.ms += 1000, offset += rate) {
        await dedup.applyOnce(run(rate, { offset, ids }), count);
      }
    };
    await bucket(50, 'slow');
    await bucket(500, 'fast');
    await bucket(500, 'faster');
    const keys = await stateKeys();
    const metas = keys.filter((k) => /:ids:\d+$/.test(k)).sort();
    const sizes = await Promise.all(
      metas.map(async (k) => `${await redis.hget(k, 'gens')}/${await redis.hget(k, 'shards:1')}`),
    );
    // gens/sets of the first generation: the fast bucket outgrew its 16 sets and opened 64 more.
    assert.deepEqual(sizes, ['1/16', '2/16', '1/64']);
    for (const key of keys.filter((k) => /:ids:\d+:\d+:\d+$/.test(k))) {
      assert.equal(await redis.object('ENCODING', key), 'intset', `${key} is not an intset`);
    }
    // Every id, replayed under new offsets, is found whatever its bucket's set count.
    const replay = [
      ...run(1000, { ids: 'slow' }),
      ...run(10_000, { ids: 'fast', offset: 1000 }),
      ...run(10_000, { ids: 'faster', offset: 11_000 }),
    ].map((e, i) => event(e.id, 10_000_000 + i, 7));
    assert.equal(await dedup.applyOnce(replay, count), 0);
    assert.equal(await total(), 1000 + 20_000);
  });

  it('keeps every set an intset through a burst at start, and finds every id of the burst', async (t) => {
    const { dedup, count, total, redis, stateKeys } = await setup(t);
    // 60,000 events within one bucket and no bucket before: 16 sets would hold 3,750 each.
    assert.equal(await dedup.applyOnce(run(60_000, { ids: 'burst' }), count), 60_000);
    const keys = await stateKeys();
    const meta = keys.find((k) => /:ids:\d+$/.test(k)) ?? '';
    assert.equal(await redis.hget(meta, 'gens'), '3', 'generations of 16, 64 and 256 sets');
    const sets = keys.filter((k) => /:ids:\d+:\d+:\d+$/.test(k));
    let members = 0;
    for (const key of sets) {
      assert.equal(await redis.object('ENCODING', key), 'intset', `${key} is not an intset`);
      members += await redis.scard(key);
    }
    assert.equal(members, 60_000);
    const replay = run(60_000, { ids: 'burst' }).map((e, i) => event(e.id, 1_000_000 + i, 5));
    assert.equal(await dedup.applyOnce(replay, count), 0);
    assert.equal(await total(), 60_000);
  });

  it('writes every kind of op once per target, as applying each new event in turn would', async (t) => {
    const { dedup, redis, prefix } = await setup(t);
    type Ev = DedupEvent & { n: number };
    const ev = (id: string, offset: number, n: number, partition = 0): Ev => ({ ...event(id, offset, partition), n });
    const writes = (e: Ev): CounterOp[] => [
      { kind: 'hincrby', key: `${prefix}-h`, field: `f${e.n % 3}`, by: e.n },
      { kind: 'hincrby', key: `${prefix}-h`, field: 'minus', by: -1 },
      { kind: 'incrby', key: `${prefix}-i`, by: 2 },
      { kind: 'zadd', key: `${prefix}-z`, score: e.n, member: `m${e.n % 2}` },
    ];
    // The reference: each event new by offset and id, applied alone, in order.
    const expected = { h: new Map<string, number>(), i: 0, z: new Map<string, number>() };
    const seen = new Set<string>();
    const last = new Map<number, number>();
    const apply = (events: readonly Ev[]): number => {
      let applied = 0;
      for (const e of events) {
        const offset = Number(e.source.offset);
        if (offset <= (last.get(e.source.partition) ?? -1)) continue;
        last.set(e.source.partition, offset);
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        applied += 1;
        for (const op of writes(e)) {
          if (op.kind === 'hincrby') expected.h.set(op.field, (expected.h.get(op.field) ?? 0) + op.by);
          else if (op.kind === 'incrby') expected.i += op.by;
          else expected.z.set(op.member, op.score);
        }
      }
      return applied;
    };
    const first = Array.from({ length: 40 }, (_, i) => ev(`a${i}`, i, i * 7));
    // Redelivered offsets, ids seen before under new offsets, an id twice in one call.
    const second = [
      ...Array.from({ length: 20 }, (_, i) => ev(`a${30 + i}`, 30 + i, 1_000 + i)),
      ...Array.from({ length: 10 }, (_, i) => ev(`a${i}`, i, 5, 1)),
      ev('dup', 10, 11, 1),
      ev('dup', 11, 13, 1),
      ev('tail', 12, 17, 1),
    ];
    for (const batch of [first, second]) {
      assert.equal(await dedup.applyOnce(batch, writes), apply(batch));
    }
    const hash = await redis.hgetall(`${prefix}-h`);
    assert.deepEqual(
      Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, Number(v)])),
      Object.fromEntries(expected.h),
    );
    assert.equal(Number(await redis.get(`${prefix}-i`)), expected.i);
    const z = await redis.zrange(`${prefix}-z`, 0, -1, 'WITHSCORES');
    const zMap = new Map<string, number>();
    for (let k = 0; k < z.length; k += 2) zMap.set(z[k] as string, Number(z[k + 1]));
    assert.deepEqual(zMap, expected.z);
    // 73 events, 52 new: the batches really held skipped ones.
    assert.equal(expected.i, 2 * 52);
  });

  it('refuses an increment that is not a safe integer, naming the op, and applies nothing', async (t) => {
    const { dedup, count, total } = await setup(t);
    // 600 events: two script calls of 500 and 100; the bad op is in the second.
    const events = run(600);
    const bad = events[550]?.id;
    await assert.rejects(
      dedup.applyOnce(events, (e) => (e.id === bad ? [{ kind: 'incrby', key: 'k', by: 1.5 }] : count())),
      (error: unknown) =>
        isConsumerKitError(error) && /incrby on k: increment 1.5 is not a safe integer/.test(error.message),
    );
    assert.equal(await total(), 0, 'not even the first call was sent');
    assert.equal(await dedup.applyOnce(events, count), 600, 'nothing was marked');
  });

  it('leaves no mark when a write is refused: the retry counts again, never loses a count', async (t) => {
    const { dedup, redis, prefix } = await setup(t);
    const good = `${prefix}-good`;
    const wrong = `${prefix}-wrong`;
    // A key of the wrong type: Redis refuses the HINCRBY inside the script (WRONGTYPE).
    await redis.set(wrong, 'a string');
    const writes = (): CounterOp[] => [
      { kind: 'incrby', key: good, by: 1 },
      { kind: 'hincrby', key: wrong, field: 'n', by: 1 },
    ];
    const batch = run(10);
    await assert.rejects(dedup.applyOnce(batch, writes), /WRONGTYPE/);
    await redis.del(wrong);
    assert.equal(await dedup.applyOnce(batch, writes), 10, 'no event was marked by the refused call');
    // Marking each event before its effects (as before) kept 1 of these 10 counts lost.
    assert.equal(Number(await redis.hget(wrong, 'n')), 10);
    assert.equal(Number(await redis.get(good)), 20, 'at least once: the write before the refused one, twice');
  });

  it('refuses events of a partition out of offset order, applying none of them', async (t) => {
    const { dedup, count, total } = await setup(t);
    await assert.rejects(
      dedup.applyOnce([event('a', 5), event('b', 4)], count),
      (error: unknown) =>
        isConsumerKitError(error) && /events of events:0 must keep their offset order/.test(error.message),
    );
    await assert.rejects(dedup.applyOnce([event('a', Number.NaN)], count), /not a Kafka offset/);
    assert.equal(await total(), 0);
  });
});

describe('dedup: ids minted on the device (meta id_src=client)', () => {
  // A window of 15 minutes: longer than the 60 s margin by which a tracker id's lookup starts
  // before its time, as in production (the window of 60 s above hides the difference).
  const LONG_WINDOW_S = 900;
  const LONG_BUCKET_MS = (LONG_WINDOW_S * 1000) / 3;

  /** The id a device whose clock runs `aheadMs` ahead of the consumer's mints for one event. */
  function deviceId(clockMs: number, aheadMs: number): string {
    return createEventIdGenerator({ now: () => Math.max(0, clockMs + aheadMs) })();
  }
  const client = (id: string, offset: number, partition = 0): DedupEvent => ({
    ...event(id, offset, partition),
    meta: { idSource: 'client' },
  });

  it('counts a retry once across buckets, whatever the time in the id', async (t) => {
    const { dedup, clock, count, total } = await setup(t, LONG_WINDOW_S);
    // Clocks 10 minutes ahead, a year ahead, 2 days behind, on time, and reset to 1970.
    const aheads = [10 * 60_000, 365 * 86_400_000, -2 * 86_400_000, 0, -clock.ms];
    const ids = aheads.map((ahead) => deviceId(clock.ms, ahead));
    assert.equal(
      await dedup.applyOnce(
        ids.map((id, i) => client(id, i)),
        count,
      ),
      ids.length,
    );
    // The device got no answer and sends again, a bucket and two buckets later, under new
    // offsets of another partition.
    let offset = 100;
    for (let retry = 0; retry < 2; retry++) {
      clock.ms += LONG_BUCKET_MS;
      assert.equal(
        await dedup.applyOnce(
          ids.map((id) => client(id, offset++, 4)),
          count,
        ),
        0,
      );
    }
    assert.equal(await total(), ids.length, 'each device event counted once');
  });

  it('control: taken for a tracker id, the retry of a device running ahead is counted twice', async (t) => {
    // Without the client flag an id is looked up only from its time on (less 60 s): the first
    // sighting, in a bucket that ended before the time the device's clock gave the id, is not asked.
    const { dedup, clock, count, total } = await setup(t, LONG_WINDOW_S);
    const id = deviceId(clock.ms, 10 * 60_000);
    assert.equal(await dedup.applyOnce([event(id, 0)], count), 1);
    clock.ms += 2 * LONG_BUCKET_MS;
    assert.equal(await dedup.applyOnce([event(id, 7, 4)], count), 1, 'missed: counted again');
    assert.equal(await total(), 2);
    // The same sequence with the flag is counted once.
    const flagged = deviceId(clock.ms, 10 * 60_000);
    assert.equal(await dedup.applyOnce([client(flagged, 8)], count), 1);
    clock.ms += 2 * LONG_BUCKET_MS;
    assert.equal(await dedup.applyOnce([client(flagged, 9, 5)], count), 0);
    assert.equal(await total(), 3);
  });

  it('remembers a client id for the window, as any id, and takes it as new after', async (t) => {
    const { dedup, clock, count, total } = await setup(t, LONG_WINDOW_S);
    const id = deviceId(clock.ms, -86_400_000);
    assert.equal(await dedup.applyOnce([client(id, 0)], count), 1);
    clock.ms += LONG_WINDOW_S * 1000 - 1;
    assert.equal(await dedup.applyOnce([client(id, 1)], count), 0);
    clock.ms += 2 * LONG_BUCKET_MS;
    assert.equal(await dedup.applyOnce([client(id, 2)], count), 1, 'forgotten past the window');
    assert.equal(await total(), 2);
  });
});
