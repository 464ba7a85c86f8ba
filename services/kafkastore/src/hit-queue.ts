import { PushtechError, writersKey } from '@pushtech/runtime';
import type { Redis } from 'ioredis';

/** Entries taken from Redis, oldest first, plus what the script saw while taking them. */
export interface TakenBatch {
  readonly entries: readonly string[];
  /** Entries that were already in the processing list: a batch a crash (or lost reply) left behind. */
  readonly leftover: number;
  /** Entries still waiting in the incoming list after the move. */
  readonly queueDepth: number;
}

/**
 * Lua shared by the take scripts: moves the `want` oldest entries (the incoming list's tail)
 * onto the processing list's head, keeping their order, and leaves them in `moved`, newest
 * first. The processing list keeps the incoming list's order (newest at the head), so its oldest
 * entries are at its tail and a produced batch leaves it with one trim by count.
 */
const MOVE_OLDEST = `
local moved = {}
if want > 0 then
  moved = redis.call('LRANGE', KEYS[1], -want, -1)
  local n = #moved
  if n > 0 then
    redis.call('LTRIM', KEYS[1], 0, -n - 1)
    local reversed = {}
    for i = n, 1, -1 do reversed[#reversed + 1] = moved[i] end
    redis.call('LPUSH', KEYS[2], unpack(reversed))
  end
end
`;

/**
 * The fence: a script changes the lists only while the owner key still holds this instance's
 * token (processing-lease.ts), so an owner that lost its lease (paused past its expiry, another
 * instance took over) can neither take nor trim. `owner` and `token` name the key and value.
 */
function fenced(owner: string, token: string): string {
  // An empty token (KAFKASTORE_LEASE=false, the chaos suite's negative control) is unfenced.
  return `if ${token} ~= '' and redis.call('GET', ${owner}) ~= ${token} then
  return redis.error_reply('${LEASE_LOST_REPLY}')
end
`;
}

const LEASE_LOST_REPLY = 'PT_LEASE_LOST the lease on this processing list is not ours';

/**
 * Tops up the processing list from the incoming list's tail (the oldest entries) and returns
 * the whole processing list. Atomic, so an entry is always in exactly one of the two lists.
 *
 * KEYS[1] incoming list, KEYS[2] processing list, KEYS[3] owner key; ARGV[1] the batch size
 * (0: take nothing new), ARGV[2] the lease token.
 */
const TAKE_SCRIPT = `
${fenced('KEYS[3]', 'ARGV[2]')}
local have = redis.call('LLEN', KEYS[2])
local want = tonumber(ARGV[1]) - have
${MOVE_OLDEST}
local result = redis.call('LRANGE', KEYS[2], 0, -1)
table.insert(result, 1, redis.call('LLEN', KEYS[1]))
table.insert(result, 1, have)
return result
`;

/**
 * Takes the next batch while one is in flight: moves up to `limit` more entries into the
 * processing list and returns only those. It moves nothing unless the processing list holds
 * exactly the batch in flight (ARGV[1] entries), so it can never take twice what it holds.
 *
 * KEYS[1] incoming list, KEYS[2] processing list, KEYS[3] owner key; ARGV[1] entries in flight,
 * ARGV[2] how many, ARGV[3] the lease token.
 * Returns {entries the processing list held, entries left waiting, moved entries newest first}.
 */
const TAKE_MORE_SCRIPT = `
${fenced('KEYS[3]', 'ARGV[3]')}
local have = redis.call('LLEN', KEYS[2])
local want = 0
if have == tonumber(ARGV[1]) then want = tonumber(ARGV[2]) end
${MOVE_OLDEST}
table.insert(moved, 1, redis.call('LLEN', KEYS[1]))
table.insert(moved, 1, have)
return moved
`;

/**
 * Trims the produced batch from the processing list's tail, if the tail still is that batch:
 * its newest entry at -count and its oldest at -1 (entries carry unique event ids). A batch
 * taken by takeMore meanwhile sits in front of it and stays.
 *
 * KEYS[1] processing list, KEYS[2] owner key; ARGV[1] the batch's size, ARGV[2] its newest
 * entry, ARGV[3] its oldest, ARGV[4] the lease token.
 * Returns 1 when trimmed, 0 when the tail was something else (the trim already ran).
 */
const ACK_SCRIPT = `
${fenced('KEYS[2]', 'ARGV[4]')}
local n = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], -n) == ARGV[2] and redis.call('LINDEX', KEYS[1], -1) == ARGV[3] then
  redis.call('LTRIM', KEYS[1], 0, -n - 1)
  return 1
end
return 0
`;

/**
 * For the drain on exit: the trackers that may still write (a lease in the writers set that has
 * not expired: score above ARGV[1], now in ms), then the incoming list's length. Read in this
 * order, in one script: a tracker removes its lease only after its last LPUSH was confirmed, so
 * no writer and an empty list mean nothing more can arrive.
 *
 * KEYS[1] writers set, KEYS[2] incoming list; ARGV[1] now. Returns {writers, entries waiting}.
 */
const DRAIN_STATE_SCRIPT = `
local writers = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
return {writers, redis.call('LLEN', KEYS[2])}
`;

/** The next batch, taken while the previous one was in flight. */
export interface PrefetchedBatch {
  /** Oldest first; empty when nothing waited or the processing list was not as expected. */
  readonly entries: readonly string[];
  /** Entries still waiting in the incoming list after the move. */
  readonly queueDepth: number;
}

export interface HitQueue {
  /** Everything in the processing list after topping it up to `limit` entries. */
  take(limit: number): Promise<TakenBatch>;
  /**
   * While the batch of `inFlight` entries is being produced, moves up to `limit` more into the
   * processing list (at its head, newer than the batch in flight, which `ack` trims from the
   * tail) and returns them. Moves nothing unless the list holds exactly `inFlight` entries.
   */
  takeMore(inFlight: number, limit: number): Promise<PrefetchedBatch>;
  /**
   * Blocks until the incoming list has an entry (moving the oldest into the processing list,
   * where the next `take` finds it) or `timeoutSeconds` passed. Resolves to whether it moved one.
   */
  waitForEntries(timeoutSeconds: number): Promise<boolean>;
  /**
   * Removes the batch Kafka acknowledged: the `batch.length` oldest entries of the processing
   * list, only while they still are that batch. So a repeated command (ioredis resends one whose
   * reply was lost) cannot trim the next batch, taken meanwhile, that was never produced.
   */
  ack(batch: readonly string[]): Promise<void>;
  /** Ends a `waitForEntries` early (shutdown). */
  wake(): Promise<void>;
  /** Live tracker leases (`writersKey`) and entries waiting, read in that order (drain on exit). */
  drainState(now: number): Promise<{ readonly writers: number; readonly queueDepth: number }>;
  readonly connected: boolean;
}

type RedisWithTake = Redis & {
  kafkastoreTake(incoming: string, processing: string, owner: string, limit: number, token: string): Promise<unknown[]>;
  kafkastoreTakeMore(
    incoming: string,
    processing: string,
    owner: string,
    inFlight: number,
    limit: number,
    token: string,
  ): Promise<unknown[]>;
  kafkastoreAck(
    processing: string,
    owner: string,
    count: number,
    newest: string,
    oldest: string,
    token: string,
  ): Promise<number>;
  kafkastoreDrainState(writers: string, incoming: string, now: number): Promise<[number, number]>;
};

/** Runs a fenced script; its refusal becomes the error the drain loop stops on. */
async function fencedCall<T>(processingKey: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error: unknown) {
    if (error instanceof Error && error.message.startsWith('PT_LEASE_LOST')) {
      throw new PushtechError(
        'PT_ERR_LEASE_LOST',
        `the lease on ${processingKey} is no longer ours (another kafkastore took the list over, or Redis ` +
          'lost the lease): nothing was taken or trimmed; stopping so that the list has one owner',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The Redis side of the drain. `main` runs scripts and acks; `blocking` only ever runs the
 * blocking BLMOVE, because a blocked connection cannot serve anything else.
 */
export function createHitQueue(options: {
  main: Redis;
  blocking: Redis;
  incomingKey: string;
  processingKey: string;
  /** The lease every take and ack is fenced by: its key and this instance's token. */
  lease: { readonly key: string; readonly token: string };
}): HitQueue {
  const { main, blocking, incomingKey, processingKey, lease } = options;
  const writers = writersKey(incomingKey);
  main.defineCommand('kafkastoreTake', { numberOfKeys: 3, lua: TAKE_SCRIPT });
  main.defineCommand('kafkastoreTakeMore', { numberOfKeys: 3, lua: TAKE_MORE_SCRIPT });
  main.defineCommand('kafkastoreAck', { numberOfKeys: 2, lua: ACK_SCRIPT });
  main.defineCommand('kafkastoreDrainState', { numberOfKeys: 2, lua: DRAIN_STATE_SCRIPT });
  const scripted = main as RedisWithTake;
  let blockingClientId: number | undefined;
  const rememberClientId = (): void => {
    blocking.client('ID').then(
      (id) => (blockingClientId = Number(id)),
      () => (blockingClientId = undefined),
    );
  };
  blocking.on('ready', rememberClientId);
  if (blocking.status === 'ready') rememberClientId();

  return {
    async take(limit) {
      const reply = await fencedCall(
        processingKey,
        scripted.kafkastoreTake(incomingKey, processingKey, lease.key, limit, lease.token),
      );
      const [leftover, queueDepth, ...newestFirst] = reply;
      const entries = (newestFirst as string[]).reverse();
      return { entries, leftover: Number(leftover), queueDepth: Number(queueDepth) };
    },
    async takeMore(inFlight, limit) {
      const reply = await fencedCall(
        processingKey,
        scripted.kafkastoreTakeMore(incomingKey, processingKey, lease.key, inFlight, limit, lease.token),
      );
      const [, queueDepth, ...newestFirst] = reply;
      return { entries: (newestFirst as string[]).reverse(), queueDepth: Number(queueDepth) };
    },
    async waitForEntries(timeoutSeconds) {
      // The moved entry is not used here: the next take returns the whole processing list, so
      // an entry moved by a BLMOVE whose reply was lost (reconnect) is picked up all the same.
      return (await blocking.blmove(incomingKey, processingKey, 'RIGHT', 'LEFT', timeoutSeconds)) !== null;
    },
    async ack(batch) {
      if (batch.length === 0) return;
      // Oldest first: the batch's newest entry is its last.
      await fencedCall(
        processingKey,
        scripted.kafkastoreAck(
          processingKey,
          lease.key,
          batch.length,
          batch.at(-1) as string,
          batch[0] as string,
          lease.token,
        ),
      );
    },
    async wake() {
      if (blockingClientId !== undefined) await main.client('UNBLOCK', blockingClientId);
    },
    async drainState(now) {
      const [live, queueDepth] = await scripted.kafkastoreDrainState(writers, incomingKey, now);
      return { writers: Number(live), queueDepth: Number(queueDepth) };
    },
    get connected() {
      return main.status === 'ready' && blocking.status === 'ready';
    },
  };
}
