import { randomBytes } from 'node:crypto';
import { createAdmin, createConsumer, type KafkaConnection, type Logger } from '@pushtech/runtime';
import { matches } from './filter.js';
import { prepareEvent } from './event-view.js';
import type { Viewer } from './viewer.js';

/**
 * "Show the last N minutes" for one browser: a short-lived consumer of its own seeks each
 * partition to the first offset at or after now − N minutes and reads up to where the topic
 * ended when the request came, through the browser's filter. Other browsers see nothing of it.
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

  const consumer = createConsumer(options.connection, options.logger, {
    groupId: `kafidx-replay-${randomBytes(6).toString('hex')}`,
    topics: [options.topic],
    fromBeginning: false,
    maxWaitMs: 100,
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
  }
  return count;
}
