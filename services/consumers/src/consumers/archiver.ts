import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineConsumer, type ConsumedEvent } from '@pushtech/consumer-kit';
import { setting } from '@pushtech/runtime';
import { writeFileDurably } from '../durable-file.js';
import { hourPath } from '../time-buckets.js';

/** One archive line: the event's id, type and receive time, where it was read, and the message as on the wire. */
export interface ArchivedEvent {
  readonly id: string;
  readonly type: string;
  readonly ts: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly message: string;
}

function toLine(e: ConsumedEvent): string {
  const line: ArchivedEvent = {
    id: e.id,
    type: e.type,
    ts: e.receivedAt,
    topic: e.source.topic,
    partition: e.source.partition,
    offset: e.source.offset,
    message: e.message,
  };
  return JSON.stringify(line);
}

/**
 * Writes events into hour-partitioned files `ARCHIVE_DIR/YYYY/MM/DD/HH/*.ndjson.gz` (UTC hour of
 * receive time). Each batch (the partitions of a fetch) becomes one file per hour and partition,
 * written durably (fsync, rename, fsync folder) before the handler resolves, so the offsets are
 * committed only for archived events.
 *
 * A replay must rewrite, never add. Offsets are committed after every batch (the commit is
 * awaited before the next batch), so after a crash or a rebalance each partition's replay starts
 * where its part of the one written but uncommitted batch started, though it may end elsewhere
 * (a fetch of another size). Each file therefore holds one partition's events and is named after
 * the topic, the partition and the offset of its own first event, not its last: the replay's
 * first file replaces the old one, whether it holds fewer events (the rest come again in the
 * next file) or more. Naming by first and last offset kept both copies (22 of 6,600 events
 * archived twice in the chaos scenario under CI's load).
 */
export const archiver = defineConsumer({
  name: 'archiver',
  commitEachBatch: true,
  settings: {
    /** The hourly archive files' folder (made absolute by parseConfig: a `path: true` setting). */
    ARCHIVE_DIR: setting.string({ accepts: 'the folder the hourly archive files go to', path: true }),
    /**
     * How long the archiver lets events gather after a fetch that caught up, before it fetches
     * again (its CONSUMER_FETCH_LINGER_MS): the most an event waits before its file is written.
     * Each fetch writes a durable file (fsync) per partition and commits, so at 1,000 events/s
     * a 2 s linger writes about 3 files a second where 100 ms wrote 60. A backlog never waits.
     */
    ARCHIVE_FETCH_LINGER_MS: setting.integer({ min: 0, max: 10_000, default: 2_000 }),
  },
  fetchLingerMs: (config) => config.ARCHIVE_FETCH_LINGER_MS,
  /**
   * A folder that cannot take a file (full disk, read-only or lost mount) is an outage, not bad
   * events: the probe writes a small file, fsyncs and removes it, so ENOSPC or EROFS shows here.
   */
  async checkDependencies(ctx) {
    const root = path.resolve(ctx.config.ARCHIVE_DIR);
    await mkdir(root, { recursive: true });
    const probe = path.join(root, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const handle = await open(probe, 'w');
      try {
        await handle.writeFile('probe\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
    } finally {
      await rm(probe, { force: true });
    }
  },
  async handleBatch(events, ctx) {
    if (events.length === 0) return;
    // One file per hour and partition (a call holds the partitions of a fetch).
    const files = new Map<string, { hour: string; list: ConsumedEvent[] }>();
    for (const e of events) {
      const hour = hourPath(e.receivedAt);
      const key = `${hour}/${e.source.topic}/${e.source.partition}`;
      const file = files.get(key) ?? { hour, list: [] };
      file.list.push(e);
      files.set(key, file);
    }
    const root = path.resolve(ctx.config.ARCHIVE_DIR);
    await Promise.all(
      [...files.values()].map(({ hour, list }) => {
        const head = list[0] as ConsumedEvent;
        const name = `${head.source.topic}-${head.source.partition}-${head.source.offset}.ndjson.gz`;
        return writeFileDurably(path.join(root, hour, name), gzipSync(`${list.map(toLine).join('\n')}\n`));
      }),
    );
  },
});
