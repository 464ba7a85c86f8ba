import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
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
 * receive time). Each batch becomes one file per hour, named after its topic, partition and
 * offsets, written durably (fsync, rename, fsync folder) before the handler resolves, so the
 * offsets are committed only for archived events. A replayed batch rewrites the same file.
 */
export const archiver = defineConsumer({
  name: 'archiver',
  settings: {
    ARCHIVE_DIR: setting.string({ accepts: 'the folder the hourly archive files go to' }),
  },
  /** A folder that cannot be written (full disk, lost mount) is an outage, not bad events. */
  async checkDependencies(ctx) {
    const root = path.resolve(ctx.config.ARCHIVE_DIR);
    await mkdir(root, { recursive: true });
    await access(root, constants.W_OK);
  },
  async handleBatch(events, ctx) {
    const first = events[0];
    const last = events[events.length - 1];
    if (!first || !last) return;
    const byHour = new Map<string, ConsumedEvent[]>();
    for (const e of events) {
      const hour = hourPath(e.receivedAt);
      const list = byHour.get(hour) ?? [];
      list.push(e);
      byHour.set(hour, list);
    }
    const name = `${first.source.topic}-${first.source.partition}-${first.source.offset}-${last.source.offset}.ndjson.gz`;
    const root = path.resolve(ctx.config.ARCHIVE_DIR);
    await Promise.all(
      [...byHour].map(([hour, list]) =>
        writeFileDurably(path.join(root, hour, name), gzipSync(`${list.map(toLine).join('\n')}\n`)),
      ),
    );
  },
});
