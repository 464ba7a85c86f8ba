import { randomBytes } from 'node:crypto';
import { createAdmin, createConsumer, type KafkaConnection, type Logger } from '@pushtech/runtime';
import { deleteOwnGroup } from './consumer-group.js';
import { matches } from './filter.js';
import { prepareEvent } from './event-view.js';
import type { Viewer } from './viewer.js';

/** The prefix of every replay's consumer group; the topic follows, so a group names what it read. */
export const REPLAY_GROUP_PREFIX = 'kafidx-replay-';

/**
 * "Show the last N minutes" for one browser: a short-lived consumer of its own seeks each
 * partition to the first offset at or after now − N minutes and reads up to where the topic
 * ended when the request came, through the browser's filter. Other browsers see nothing of it.
 * The consumer commits nothing, and its group is deleted when it is done, so a replay leaves
 * no group and no offsets behind (a group left by a crash has no offsets and expires).
 */
export async function replay(
  viewer: Viewer,
  minutes: number,
  options: { connection: KafkaConnection; topic: string; logger: Logger; maxEvents: number; timeoutMs?: number },
): Promise<number> {
  const admin = createAdmin(options.connection, options.logger);
  await admin.connect();
  let starts: { partition: number; offset: string }[];
  let ends: Map<number, bigint>;
  try {
    starts = await admin.offsetsForTimestamp(options.topic, Date.now() - minutes * 60_000);
    ends = new Map((await admin.topicOffsets(options.topic)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set(
    starts.filter((s) => BigInt(s.offset) < (ends.get(s.partition) ?? 0n)).map((s) => s.partition),
  );
  if (pending.size === 0) return 0;

  const groupId = `${REPLAY_GROUP_PREFIX}${options.topic}-${randomBytes(6).toString('hex')}`;
  const consumer = createConsumer(options.connection, options.logger, {
    groupId,
    topics: [options.topic],
    fromBeginning: false,
    maxWaitMs: 100,
    commitOffsets: false,
  });
  let count = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  try {
    await consumer.start(async (batch) => {
      const end = ends.get(batch.partition) ?? 0n;
      const wanted = batch.messages.filter((m) => BigInt(m.offset) < end);
      const chosen: string[] = [];
      for (const message of wanted) {
        const prepared = prepareEvent(message);
        if (prepared.event && !matches(viewer.filter, prepared.event)) continue;
        if (count >= options.maxEvents) break;
        count += 1;
        chosen.push(prepared.json);
      }
      await viewer.sendReplay(chosen);
      const last = batch.messages[batch.messages.length - 1];
      if (last && BigInt(last.offset) + 1n >= end) pending.delete(batch.partition);
      if (pending.size === 0 || count >= options.maxEvents || !viewer.open) finish();
    });
    await consumer.waitForAssignment(15_000);
    for (const start of starts) consumer.seek(options.topic, start.partition, start.offset);
    const timeout = setTimeout(finish, options.timeoutMs ?? 60_000);
    await finished;
    clearTimeout(timeout);
  } finally {
    await consumer.stop();
    await deleteOwnGroup(options.connection, options.logger, groupId);
  }
  return count;
}

/**
 * Replays per session (all its sockets together): one at a time, and at most `perMinute`
 * started in any minute. Memory: one entry per session with a replay running or started in
 * the last minute.
 */
export class ReplayLimiter {
  private readonly sessions = new Map<string, { running: boolean; starts: number[] }>();

  constructor(private readonly perMinute: number) {}

  /** Starts a replay for the session, or says why it may not start now. */
  begin(sessionId: string, now = Date.now()): { ok: true; end: () => void } | { ok: false; reason: string } {
    this.prune(now);
    const entry = this.sessions.get(sessionId) ?? { running: false, starts: [] };
    if (entry.running) {
      return { ok: false, reason: 'a replay of this session is already running; wait until it is done' };
    }
    if (entry.starts.length >= this.perMinute) {
      const wait = Math.ceil(((entry.starts[0] ?? now) + 60_000 - now) / 1000);
      return {
        ok: false,
        reason: `at most ${this.perMinute} replays per minute per session; try again in ${wait} s`,
      };
    }
    entry.running = true;
    entry.starts.push(now);
    this.sessions.set(sessionId, entry);
    return {
      ok: true,
      end: () => {
        entry.running = false;
      },
    };
  }

  get size(): number {
    return this.sessions.size;
  }

  private prune(now: number): void {
    for (const [id, entry] of this.sessions) {
      while (entry.starts.length > 0 && (entry.starts[0] ?? 0) <= now - 60_000) entry.starts.shift();
      if (!entry.running && entry.starts.length === 0) this.sessions.delete(id);
    }
  }
}
