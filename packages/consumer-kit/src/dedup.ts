import type { Redis } from 'ioredis';

/** A Redis write the dedup helper applies together with the event's "seen" mark. */
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
 * Event-id deduplication in Redis, windowed: an id is remembered for the window (a replay after
 * a crash comes within minutes). `applyOnce` marks ids and applies their writes in one Lua
 * script, so a replayed event never doubles a count and a crash never leaves a mark without
 * its effect. `claim` only marks, for effects outside Redis.
 */
export interface Dedup {
  applyOnce<E extends { readonly id: string }>(
    events: readonly E[],
    writes: (event: E) => readonly CounterOp[],
    expiries?: readonly KeyExpiry[],
  ): Promise<number>;
  /** Marks the ids; returns those not seen within the window (the ones to act on). */
  claim(ids: readonly string[]): Promise<Set<string>>;
}

// ARGV: window seconds, mark prefix, JSON [[id, [[op, key, a, b], ...]], ...], JSON [[key, seconds], ...]
const APPLY_ONCE = `
local window = tonumber(ARGV[1])
local items = cjson.decode(ARGV[3])
local applied = 0
for _, item in ipairs(items) do
  if redis.call('SET', ARGV[2] .. item[1], '1', 'NX', 'EX', window) then
    applied = applied + 1
    for _, op in ipairs(item[2]) do
      if op[1] == 'h' then redis.call('HINCRBY', op[2], op[3], op[4])
      elseif op[1] == 'i' then redis.call('INCRBY', op[2], op[3])
      elseif op[1] == 'z' then redis.call('ZADD', op[2], op[3], op[4])
      end
    end
  end
end
if applied > 0 then
  for _, e in ipairs(cjson.decode(ARGV[4])) do redis.call('EXPIRE', e[1], e[2]) end
end
return applied
`;

function encodeOp(op: CounterOp): string[] {
  switch (op.kind) {
    case 'hincrby':
      return ['h', op.key, op.field, String(op.by)];
    case 'incrby':
      return ['i', op.key, String(op.by), ''];
    case 'zadd':
      return ['z', op.key, String(op.score), op.member];
  }
}

/** Events per script call: keeps each call short, since Redis runs a script alone. */
const CHUNK = 500;

export function createDedup(redis: Redis, options: { markPrefix: string; windowSeconds: number }): Dedup {
  const window = String(options.windowSeconds);
  return {
    async applyOnce(events, writes, expiries = []) {
      let applied = 0;
      const expiryJson = JSON.stringify(expiries.map((e) => [e.key, e.seconds]));
      for (let start = 0; start < events.length; start += CHUNK) {
        const items = events.slice(start, start + CHUNK).map((e) => [e.id, writes(e).map(encodeOp)]);
        const result = await redis.eval(APPLY_ONCE, 0, window, options.markPrefix, JSON.stringify(items), expiryJson);
        applied += Number(result);
      }
      return applied;
    },
    async claim(ids) {
      if (ids.length === 0) return new Set();
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.set(`${options.markPrefix}${id}`, '1', 'EX', options.windowSeconds, 'NX');
      const results = (await pipeline.exec()) ?? [];
      const fresh = new Set<string>();
      results.forEach(([error, value], i) => {
        if (error) throw error;
        const id = ids[i];
        if (value === 'OK' && id !== undefined) fresh.add(id);
      });
      return fresh;
    },
  };
}
