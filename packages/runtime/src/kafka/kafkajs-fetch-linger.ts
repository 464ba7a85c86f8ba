import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A fetch linger for kafkajs 2.2.4 consumers, which have none: after a fetch that brought events
 * but left no partition behind (the consumer caught up), the group's next fetch goes out only
 * `lingerMs` after that one returned. At moderate rates a fetch then carries the events of a
 * linger instead of the few of one produce, and the broker long-polls with `minBytes` 1 and a
 * long `maxWaitTime` when idle, so an idle consumer asks rarely and a lone event after an idle
 * spell is answered at once. Nothing waits when work is ready: a fetch that left a backlog, or
 * brought nothing, is followed by the next one at once.
 *
 * kafkajs builds its consumer group inside `consumer.run()`; the linger is found by group id
 * (consumers of one group in one process share it).
 */
interface FetchedBatch {
  isEmpty(): boolean;
  offsetLag(): string;
}

interface ConsumerGroup {
  readonly groupId: string;
  fetch: (this: ConsumerGroup, nodeId: number) => Promise<FetchedBatch[]>;
}

interface LingerState {
  /** When the last fetch that should be followed by a linger returned; 0 otherwise. */
  lingerFrom: number;
}

const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroup };

const lingers = new Map<string, { lingerMs: number; users: number }>();
const states = new WeakMap<ConsumerGroup, LingerState>();
const originalFetch = prototype.fetch;

prototype.fetch = async function fetch(this: ConsumerGroup, nodeId: number): Promise<FetchedBatch[]> {
  const lingerMs = lingers.get(this.groupId)?.lingerMs ?? 0;
  let state = states.get(this);
  if (state === undefined) {
    state = { lingerFrom: 0 };
    states.set(this, state);
  }
  if (lingerMs > 0 && state.lingerFrom > 0) {
    const wait = state.lingerFrom + lingerMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const batches = await originalFetch.call(this, nodeId);
  const brought = batches.some((b) => !b.isEmpty());
  const backlog = batches.some((b) => !b.isEmpty() && b.offsetLag() !== '0');
  state.lingerFrom = brought && !backlog ? Date.now() : 0;
  return batches;
};

/** Lets the consumers of `groupId` linger `lingerMs` between fetches (0: no linger); undo with the result. */
export function registerFetchLinger(groupId: string, lingerMs: number): () => void {
  if (lingerMs <= 0) return () => undefined;
  const entry = lingers.get(groupId) ?? { lingerMs, users: 0 };
  entry.lingerMs = lingerMs;
  entry.users += 1;
  lingers.set(groupId, entry);
  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    entry.users -= 1;
    if (entry.users === 0 && lingers.get(groupId) === entry) lingers.delete(groupId);
  };
}
