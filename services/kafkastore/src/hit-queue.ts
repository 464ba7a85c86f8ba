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
 * Tops up the processing list from the incoming list's tail (the oldest entries) and returns
 * the whole processing list. Atomic, so an entry is always in exactly one of the two lists.
 * The processing list keeps the incoming list's order (newest at the head), so the oldest
 * entries are at its tail and the batch leaves it with one LTRIM by count.
 *
 * KEYS[1] incoming list, KEYS[2] processing list; ARGV[1] the batch size (0: take nothing new).
 */
const TAKE_SCRIPT = `
local have = redis.call('LLEN', KEYS[2])
local want = tonumber(ARGV[1]) - have
if want > 0 then
  local moved = redis.call('LRANGE', KEYS[1], -want, -1)
  local n = #moved
  if n > 0 then
    redis.call('LTRIM', KEYS[1], 0, -n - 1)
    local reversed = {}
    for i = n, 1, -1 do reversed[#reversed + 1] = moved[i] end
    redis.call('LPUSH', KEYS[2], unpack(reversed))
  end
end
local result = redis.call('LRANGE', KEYS[2], 0, -1)
table.insert(result, 1, redis.call('LLEN', KEYS[1]))
table.insert(result, 1, have)
return result
`;

export interface HitQueue {
  /** Everything in the processing list after topping it up to `limit` entries. */
  take(limit: number): Promise<TakenBatch>;
  /**
   * Blocks until the incoming list has an entry (moving the oldest into the processing list,
   * where the next `take` finds it) or `timeoutSeconds` passed.
   */
  waitForEntries(timeoutSeconds: number): Promise<void>;
  /** Removes the `count` oldest entries of the processing list: the batch Kafka acknowledged. */
  ack(count: number): Promise<void>;
  /** Ends a `waitForEntries` early (shutdown). */
  wake(): Promise<void>;
  readonly connected: boolean;
}

type RedisWithTake = Redis & {
  kafkastoreTake(incoming: string, processing: string, limit: number): Promise<unknown[]>;
};

/**
 * The Redis side of the drain. `main` runs scripts and acks; `blocking` only ever runs the
 * blocking BLMOVE, because a blocked connection cannot serve anything else.
 */
export function createHitQueue(options: {
  main: Redis;
  blocking: Redis;
  incomingKey: string;
  processingKey: string;
}): HitQueue {
  const { main, blocking, incomingKey, processingKey } = options;
  main.defineCommand('kafkastoreTake', { numberOfKeys: 2, lua: TAKE_SCRIPT });
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
      const reply = await scripted.kafkastoreTake(incomingKey, processingKey, limit);
      const [leftover, queueDepth, ...newestFirst] = reply;
      const entries = (newestFirst as string[]).reverse();
      return { entries, leftover: Number(leftover), queueDepth: Number(queueDepth) };
    },
    async waitForEntries(timeoutSeconds) {
      // The moved entry is not used here: the next take returns the whole processing list, so
      // an entry moved by a BLMOVE whose reply was lost (reconnect) is picked up all the same.
      await blocking.blmove(incomingKey, processingKey, 'RIGHT', 'LEFT', timeoutSeconds);
    },
    async ack(count) {
      // The processing list holds exactly the batch (nothing is added while one is in flight);
      // trimming by count from the tail still removes only the entries that were produced.
      await main.ltrim(processingKey, 0, -count - 1);
    },
    async wake() {
      if (blockingClientId !== undefined) await main.client('UNBLOCK', blockingClientId);
    },
    get connected() {
      return main.status === 'ready' && blocking.status === 'ready';
    },
  };
}
