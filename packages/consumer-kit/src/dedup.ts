import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { eventIdTime, isEventId } from '@pushtech/event';
import { ConsumerKitError } from './errors.js';

/** A Redis write the dedup helper applies together with the event's progress mark. */
export type CounterOp =
  | { readonly kind: 'hincrby'; readonly key: string; readonly field: string; readonly by: number }
  | { readonly kind: 'incrby'; readonly key: string; readonly by: number }
  | { readonly kind: 'zadd'; readonly key: string; readonly score: number; readonly member: string };

/** Keys to (re)set a time to live on after a call that applied at least one event. */
export interface KeyExpiry {
  readonly key: string;
  readonly seconds: number;
}

/**
 * What the dedup helper needs of an event: its id, where Kafka delivered it, and whether the
 * device minted the id (meta `id_src=client`; a ConsumedEvent carries its meta).
 */
export interface DedupEvent {
  readonly id: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
  readonly meta?: { readonly idSource?: 'client' | 'tracker' | undefined };
}

/**
 * Exactly-once effects in Redis, with state that does not grow by a key per event:
 * - per partition, the last applied offset, kept in the same Lua script as the effects: a
 *   redelivery by Kafka (crash before commit, rebalance) is skipped by its offset;
 * - per event id, a 63-bit fingerprint in time-bucketed, sharded sets (intsets, 8 bytes a
 *   member), remembered for at least the window: the same event under a new offset (a
 *   kafkastore replay, a client's retry) is skipped too.
 * Events of one partition must come in offset order (as the kit hands them over).
 */
export interface Dedup {
  /** Applies each event's writes unless it was applied before; returns how many were applied. */
  applyOnce<E extends DedupEvent>(
    events: readonly E[],
    writes: (event: E) => readonly CounterOp[],
    expiries?: readonly KeyExpiry[],
  ): Promise<number>;
  /**
   * Marks the events as done and returns those not done before (the ones to act on), for
   * effects outside Redis. Marking comes first: a crash before the effect loses it (at most once).
   */
  claim<E extends DedupEvent>(events: readonly E[]): Promise<E[]>;
}

export interface DedupOptions {
  /** Every key the helper writes starts with it: `<markPrefix>offsets`, `<markPrefix>ids:...`. */
  readonly markPrefix: string;
  /** How long an event id is remembered at least (it may be up to a third longer). */
  readonly windowSeconds: number;
  /** The clock, ms since the epoch; tests move it instead of waiting. */
  readonly now?: () => number;
}

/**
 * Buckets per window: an id is kept up to 1/BUCKETS of the window longer, and looked up in at
 * most BUCKETS + 1 sets (one call each; see DEDUP_ID_TIME_MARGIN_MS for the usual case of none).
 */
export const DEDUP_BUCKETS_PER_WINDOW = 3;
/**
 * Sets per bucket: a bucket takes the previous bucket's event count / TARGET_FILL (a power of
 * two, within MIN..MAX), so that each set stays far below Redis' set-max-intset-entries (512)
 * even when the rate doubles from one bucket to the next; when its sets hold GROW_AT ids on
 * average (a burst, or a start with no bucket before), it opens a generation of 4x the sets.
 */
export const DEDUP_MIN_SHARDS = 16;
export const DEDUP_MAX_SHARDS = 65_536;
export const DEDUP_TARGET_FILL = 256;
/** Ids per set (on average) at which a bucket opens a new generation of 4x the sets. */
export const DEDUP_GROW_AT = 384;
/**
 * An event is first seen no earlier than its id's time (a ULID minted by the tracker when it
 * received the event) minus this margin, which covers the clocks of tracker and consumer
 * hosts disagreeing. Its id is looked up only in the buckets from there on: at a steady rate
 * in the current bucket alone, instead of every bucket of the window. An id that is no ULID,
 * and an id the device minted (meta `id_src=client`: its time is the device's clock, which
 * may be anything, and its retries arrive whenever the device is back online), is looked up in
 * every bucket of the window, within the same script call.
 */
export const DEDUP_ID_TIME_MARGIN_MS = 60_000;

/**
 * The most keys one consumer's dedup state can hold at a steady rate (events/s): the offsets
 * hash and the bucket registry, plus per live bucket (BUCKETS + 1) a meta hash and its sets. A
 * bucket that grew during a burst holds at most 4/3 of its last generation's sets.
 */
export function dedupKeyBound(windowSeconds: number, eventsPerSecond: number): number {
  const bucketSeconds = Math.ceil((windowSeconds * 1000) / DEDUP_BUCKETS_PER_WINDOW) / 1000;
  const liveBuckets = DEDUP_BUCKETS_PER_WINDOW + 1;
  const wanted = Math.ceil((eventsPerSecond * bucketSeconds) / DEDUP_TARGET_FILL);
  let shards = DEDUP_MIN_SHARDS;
  while (shards < wanted && shards < DEDUP_MAX_SHARDS) shards *= 2;
  return 2 + liveBuckets * (1 + shards);
}

// ARGV: mark prefix, now ms, window ms, bucket ms, min shards, max shards, target fill,
//   JSON [[partition field, offset, fingerprint, shard hash, [target, value, target, value, ...], since ms], ...],
//   JSON [[key, seconds], ...], grow-at fill, JSON [[op, key, field or member], ...] (the targets,
//   each written once per call: an item names them by their 1-based position)
// Keys: <m>offsets (hash partition -> last applied offset); <m>buckets (sorted set of the live
// buckets' start ms); <m>ids:<bucket start ms> (hash: gens, shards:<gen>, count in the newest
// gen, total, opened:<gen> ms for each gen after the first); <m>ids:<bucket start ms>:<gen>:<shard>
// (sets of fingerprints). A bucket lives as
// long as lookups still reach it, until bucket start + bucket + window: removed when a later
// bucket starts, and set to expire then. A bucket starts with one generation of sets sized from
// the bucket before; when its sets fill up (a burst, a start without a bucket before), a new
// generation with 4x the sets takes the next ids, so that every set stays an intset.
// An item's id is looked up only in buckets that end after its `since` (see
// DEDUP_ID_TIME_MARGIN_MS; 0 means every bucket).
// Three phases: which items are new (reads only), their effects (increments summed per target,
// so a batch writes each counter once, not once per event), and only then their marks and the
// partitions' offsets. An error between (a write refused) leaves no mark for an effect that may
// not have happened: a retry may count again, never lose a count. Returns the 1-based positions
// of the items applied.
const APPLY_ONCE = `
local m = ARGV[1]
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local bucket = tonumber(ARGV[4])
local maxShards = tonumber(ARGV[6])
local items = cjson.decode(ARGV[8])
local targets = cjson.decode(ARGV[11])
local offsetsKey = m .. 'offsets'
local current = now - now % bucket
local ttl = current + bucket + window - now
local currentMeta = m .. 'ids:' .. current
local oldest = (now - window) - (now - window) % bucket
local registry = m .. 'buckets'
-- Calls fn(set key) for every set of a bucket.
local function eachSet(meta, fn)
  local gens = tonumber(redis.call('HGET', meta, 'gens')) or 0
  for g = 1, gens do
    local n = tonumber(redis.call('HGET', meta, 'shards:' .. g)) or 0
    for s = 0, n - 1 do fn(meta .. ':' .. g .. ':' .. s) end
  end
end
local gens = tonumber(redis.call('HGET', currentMeta, 'gens'))
if not gens then
  -- A new bucket: its set count follows the previous bucket's event count.
  local previousMeta = m .. 'ids:' .. (current - bucket)
  local previous = tonumber(redis.call('HGET', previousMeta, 'total')) or 0
  local shards = tonumber(ARGV[5])
  while shards * tonumber(ARGV[7]) < previous and shards < maxShards do shards = shards * 2 end
  gens = 1
  redis.call('HSET', currentMeta, 'gens', 1, 'shards:1', shards, 'count', 0, 'total', 0)
  redis.call('PEXPIRE', currentMeta, ttl)
  redis.call('ZADD', registry, current, current)
  -- The buckets now out of reach go at once.
  for _, b in ipairs(redis.call('ZRANGEBYSCORE', registry, '-inf', '(' .. oldest)) do
    local meta = m .. 'ids:' .. b
    local sets = {}
    eachSet(meta, function(set)
      sets[#sets + 1] = set
      if #sets == 1000 then redis.call('UNLINK', unpack(sets)) sets = {} end
    end)
    if #sets > 0 then redis.call('UNLINK', unpack(sets)) end
    redis.call('UNLINK', meta)
    redis.call('ZREM', registry, b)
  end
  -- The previous bucket is complete: its sets expire when lookups stop reaching them, so that a
  -- consumer that never comes back leaves one bucket behind at most.
  eachSet(previousMeta, function(set) redis.call('PEXPIRE', set, ttl - bucket) end)
end
local shards = tonumber(redis.call('HGET', currentMeta, 'shards:' .. gens))
local target = currentMeta .. ':' .. gens .. ':'
-- Where an id may already be, newest first: the current bucket's older generations, then the
-- earlier buckets of the window. The newest generation is asked per set below.
local earlier = {}
for b = current, oldest, -bucket do
  local meta = m .. 'ids:' .. b
  local g = tonumber(redis.call('HGET', meta, 'gens')) or 0
  if b == current then g = g - 1 end
  for k = g, 1, -1 do
    -- A generation took ids until the next one opened (state written before 'opened' was kept:
    -- until its bucket ended).
    local ended = tonumber(redis.call('HGET', meta, 'opened:' .. (k + 1))) or (b + bucket)
    earlier[#earlier + 1] = { meta .. ':' .. k .. ':', tonumber(redis.call('HGET', meta, 'shards:' .. k)), ended }
  end
end
-- 1. The items past their partition's offset and not in an earlier set, grouped by the set of
-- the newest generation that takes them.
local last = {}
local advanced = {}
local candidates = {}
local shardOf = {}
for i, item in ipairs(items) do
  local field, offset = item[1], tonumber(item[2])
  if last[field] == nil then last[field] = tonumber(redis.call('HGET', offsetsKey, field)) or -1 end
  if offset > last[field] then
    last[field] = offset
    advanced[field] = item[2]
    local fingerprint, spread, since = item[3], item[4], item[6]
    local seen = false
    for _, e in ipairs(earlier) do
      -- Newest first: once a set stopped taking ids before this id could be seen, so did every older one.
      if e[3] <= since then break end
      if redis.call('SISMEMBER', e[1] .. (spread % e[2]), fingerprint) == 1 then seen = true break end
    end
    if not seen then
      local s = spread % shards
      local list = shardOf[s]
      if list == nil then list = {} shardOf[s] = list end
      list[#list + 1] = i
      candidates[#candidates + 1] = i
    end
  end
end
-- 2. Which of them are new: one SMISMEMBER per set; an id twice in the call counts once.
local isNew = {}
local pending = {}
for s, list in pairs(shardOf) do
  local members = {}
  for j, i in ipairs(list) do members[j] = items[i][3] end
  local found = redis.call('SMISMEMBER', target .. s, unpack(members))
  for j, i in ipairs(list) do
    local fingerprint = members[j]
    if found[j] == 0 and not pending[fingerprint] then
      pending[fingerprint] = true
      isNew[i] = true
    end
  end
end
-- 3. The effects of the new items, in offset order, each target written once.
local applied = {}
local sums = {}
local scores = {}
local order = {}
for _, i in ipairs(candidates) do
  if isNew[i] then
    applied[#applied + 1] = i
    local ops = items[i][5]
    for k = 1, #ops, 2 do
      local t = ops[k]
      if sums[t] == nil and scores[t] == nil then order[#order + 1] = t end
      if targets[t][1] == 'z' then scores[t] = ops[k + 1] else sums[t] = (sums[t] or 0) + ops[k + 1] end
    end
  end
end
for _, t in ipairs(order) do
  local op = targets[t]
  if op[1] == 'h' then redis.call('HINCRBY', op[2], op[3], string.format('%.0f', sums[t]))
  elseif op[1] == 'i' then redis.call('INCRBY', op[2], string.format('%.0f', sums[t]))
  else redis.call('ZADD', op[2], scores[t], op[3])
  end
end
-- 4. The marks, one SADD per set, and the offsets.
for s, list in pairs(shardOf) do
  local members = {}
  for _, i in ipairs(list) do
    if isNew[i] then members[#members + 1] = items[i][3] end
  end
  if #members > 0 then redis.call('SADD', target .. s, unpack(members)) end
end
for field, offset in pairs(advanced) do redis.call('HSET', offsetsKey, field, offset) end
if #applied > 0 then
  redis.call('HINCRBY', currentMeta, 'total', #applied)
  local count = redis.call('HINCRBY', currentMeta, 'count', #applied)
  if count > shards * tonumber(ARGV[10]) and shards < maxShards then
    -- These sets are filling up: the next ids go to a new generation with 4x the sets.
    local more = math.min(shards * 4, maxShards)
    redis.call('HSET', currentMeta, 'gens', gens + 1, 'shards:' .. (gens + 1), more, 'count', 0, 'opened:' .. (gens + 1), now)
  end
  for _, e in ipairs(cjson.decode(ARGV[9])) do redis.call('EXPIRE', e[1], e[2]) end
end
return applied
`;

/**
 * A call's targets (a counter or a sorted set member), each sent once: items name them by their
 * 1-based position, so a batch of events incrementing the same few counters sends each key once.
 */
class Targets {
  readonly list: string[][] = [];
  private readonly positions = new Map<string, number>();

  /**
   * The op as [target, value]: the increment, or the sorted set score (a string, as Redis takes
   * it). Increments are summed per target in the script, so each must be a safe integer there.
   */
  encode(op: CounterOp): [number, number | string] {
    switch (op.kind) {
      case 'hincrby':
        return [this.position('h', op.key, op.field), integer(op, op.by)];
      case 'incrby':
        return [this.position('i', op.key, ''), integer(op, op.by)];
      case 'zadd':
        if (!Number.isFinite(op.score)) throw badOp(op, `score ${op.score} is not a finite number`);
        return [this.position('z', op.key, op.member), String(op.score)];
    }
  }

  private position(kind: string, key: string, field: string): number {
    const id = `${kind}\u0000${key}\u0000${field}`;
    let at = this.positions.get(id);
    if (at === undefined) {
      this.list.push([kind, key, field]);
      at = this.list.length;
      this.positions.set(id, at);
    }
    return at;
  }
}

function badOp(op: CounterOp, why: string): ConsumerKitError {
  return new ConsumerKitError('PT_ERR_CONSUMER_DEFINITION', `dedup: ${op.kind} on ${op.key}: ${why}`);
}

/** Summed in the script as doubles: exact only for safe integers. */
function integer(op: CounterOp, by: number): number {
  if (!Number.isSafeInteger(by)) throw badOp(op, `increment ${by} is not a safe integer`);
  return by;
}

const MASK_63 = (1n << 63n) - 1n;

/**
 * The id's fingerprint (63 bits of its SHA-1, as a decimal string: Lua's numbers are doubles,
 * Redis stores it as a 64-bit integer) and 32 further bits that pick its set.
 */
export function fingerprintOf(id: string): { fingerprint: string; spread: number } {
  const digest = hash('sha1', id, 'buffer');
  return { fingerprint: (digest.readBigUInt64BE(0) & MASK_63).toString(), spread: digest.readUInt32BE(8) };
}

/**
 * Fingerprints kept by the event's meta object, for as long as that object lives. A process
 * that runs several consumers shares each message's decode (SharedDecodes), so all of them see
 * the same meta and hash its id once instead of once each (a SHA-1 is a few µs; five consumers
 * hashed every id five times). The id is compared too: a meta is only trusted for its own id.
 */
const fingerprintsByMeta = new WeakMap<object, { readonly id: string; fingerprint: string; spread: number }>();

function fingerprintOfEvent(event: DedupEvent): { fingerprint: string; spread: number } {
  const meta = event.meta;
  if (meta === undefined) return fingerprintOf(event.id);
  const known = fingerprintsByMeta.get(meta);
  if (known !== undefined && known.id === event.id) return known;
  const computed = { id: event.id, ...fingerprintOf(event.id) };
  fingerprintsByMeta.set(meta, computed);
  return computed;
}

/** Events per script call: keeps each call short, since Redis runs a script alone. */
const CHUNK = 500;
const OFFSET = /^\d{1,15}$/;

/** A skip by offset relies on each partition's events coming in offset order: check it. */
function checkOrder(events: readonly DedupEvent[]): void {
  const previous = new Map<string, number>();
  for (const event of events) {
    const { topic, partition, offset } = event.source;
    const field = `${topic}:${partition}`;
    if (!OFFSET.test(offset)) {
      throw new ConsumerKitError(
        'PT_ERR_CONSUMER_DEFINITION',
        `dedup: event ${event.id} has offset ${JSON.stringify(offset)}, not a Kafka offset; pass the events the kit handed over`,
      );
    }
    const before = previous.get(field);
    if (before !== undefined && Number(offset) < before) {
      throw new ConsumerKitError(
        'PT_ERR_CONSUMER_DEFINITION',
        `dedup: the events of ${field} must keep their offset order (${offset} came after ${before})`,
      );
    }
    previous.set(field, Number(offset));
  }
}

/**
 * From when on the id may have been seen (ms), or 0 (every bucket) for an id that is no ULID or
 * that the device minted (`clientMinted`).
 */
export function seenSince(id: string, now: number, clientMinted = false): number {
  if (clientMinted || !isEventId(id)) return 0;
  return Math.max(0, Math.min(eventIdTime(id), now) - DEDUP_ID_TIME_MARGIN_MS);
}

function toItem<E extends DedupEvent>(
  event: E,
  writes: (event: E) => readonly CounterOp[],
  targets: Targets,
  now: number,
): unknown[] {
  const { fingerprint, spread } = fingerprintOfEvent(event);
  const { topic, partition, offset } = event.source;
  const since = seenSince(event.id, now, event.meta?.idSource === 'client');
  const ops: (number | string)[] = [];
  for (const op of writes(event)) ops.push(...targets.encode(op));
  return [`${topic}:${partition}`, offset, fingerprint, spread, ops, since];
}

const APPLY_ONCE_SHA = hash('sha1', APPLY_ONCE, 'hex');

export function createDedup(redis: Redis, options: DedupOptions): Dedup {
  const windowMs = options.windowSeconds * 1000;
  if (!Number.isInteger(windowMs) || windowMs < 1000) {
    throw new ConsumerKitError(
      'PT_ERR_CONSUMER_DEFINITION',
      `dedup window ${options.windowSeconds} s: give whole seconds, at least 1`,
    );
  }
  const bucketMs = Math.ceil(windowMs / DEDUP_BUCKETS_PER_WINDOW);
  const now = options.now ?? Date.now;
  /** Applies the events chunk by chunk, in order; returns the positions applied. */
  const run = async <E extends DedupEvent>(
    events: readonly E[],
    writes: (event: E) => readonly CounterOp[],
    expiries: readonly KeyExpiry[],
  ): Promise<number[]> => {
    checkOrder(events);
    const expiryJson = JSON.stringify(expiries.map((e) => [e.key, e.seconds]));
    // Every chunk is encoded before the first is sent: an op refused here leaves nothing written.
    const calls: { start: number; args: string[] }[] = [];
    for (let start = 0; start < events.length; start += CHUNK) {
      const at = Math.floor(now());
      const targets = new Targets();
      const items = events.slice(start, start + CHUNK).map((e) => toItem(e, writes, targets, at));
      calls.push({
        start,
        args: [
          options.markPrefix,
          String(at),
          String(windowMs),
          String(bucketMs),
          String(DEDUP_MIN_SHARDS),
          String(DEDUP_MAX_SHARDS),
          String(DEDUP_TARGET_FILL),
          JSON.stringify(items),
          expiryJson,
          String(DEDUP_GROW_AT),
          JSON.stringify(targets.list),
        ],
      });
    }
    const applied: number[] = [];
    for (const { start, args } of calls) {
      // By its hash: Redis neither receives nor hashes the script again on every call.
      const result = (await redis.evalsha(APPLY_ONCE_SHA, 0, ...args).catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(APPLY_ONCE, 0, ...args);
      })) as number[];
      for (const position of result) applied.push(start + position - 1);
    }
    return applied;
  };
  return {
    async applyOnce(events, writes, expiries = []) {
      return (await run(events, writes, expiries)).length;
    },
    async claim(events) {
      const applied = await run(events, () => [], []);
      return applied.map((i) => events[i] as (typeof events)[number]);
    },
  };
}
