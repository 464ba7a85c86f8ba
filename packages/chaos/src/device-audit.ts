import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createDedup, type DedupEvent } from '@pushtech/consumer-kit';
import { freePort, startRedisServer } from '@pushtech/devstack';
import { decodeMessage, type EventMeta } from '@pushtech/event';
import type { IncomingMessage } from '@pushtech/runtime';

/** One event message read from the topic, decoded. */
export interface TopicEvent extends DedupEvent {
  readonly meta: Readonly<EventMeta>;
}

/** The topic's messages as events (undecodable ones left out: the auditor reports those). */
export function topicEvents(messages: readonly IncomingMessage[]): TopicEvent[] {
  const events: TopicEvent[] = [];
  for (const m of messages) {
    const decoded = decodeMessage(m.value?.toString('utf8') ?? '');
    if (!decoded.ok) continue;
    const { meta } = decoded.value;
    events.push({ id: meta.id, meta, source: { topic: m.topic, partition: m.partition, offset: m.offset } });
  }
  return events;
}

/** Messages per event id: what a consumer without dedup would count. */
export function copiesById(events: readonly TopicEvent[]): Map<string, number> {
  const copies = new Map<string, number>();
  for (const e of events) copies.set(e.id, (copies.get(e.id) ?? 0) + 1);
  return copies;
}

/**
 * What the consumer kit's dedup counts per event id over the topic, as a consumer would see it:
 * the events in offset order per partition, a counter per id applied once, its state in a Redis
 * of its own (started here, removed after).
 */
export async function dedupCounts(events: readonly TopicEvent[], windowSeconds = 900): Promise<Map<string, number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'chaos-dedup-'));
  const server = await startRedisServer({ port: await freePort(), dir, appendOnly: false });
  const redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
  try {
    const dedup = createDedup(redis, { markPrefix: 'chaos:dedup:', windowSeconds });
    const countKey = 'chaos:counts';
    for (let start = 0; start < events.length; start += 5_000) {
      await dedup.applyOnce(events.slice(start, start + 5_000), (e) => [
        { kind: 'hincrby', key: countKey, field: e.id, by: 1 },
      ]);
    }
    const counts = await redis.hgetall(countKey);
    return new Map(Object.entries(counts).map(([id, n]) => [id, Number(n)]));
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DeviceAudit {
  readonly minted: number;
  /** Minted ids with no message in the topic: must be 0. */
  readonly missing: number;
  readonly missingSample: readonly string[];
  /** Messages of minted ids beyond the first: the retries dedup has to remove. */
  readonly duplicates: number;
  /** Minted ids dedup counted other than once (0 or more than 1): must be 0. */
  readonly miscounted: number;
  readonly miscountedSample: readonly string[];
}

/** Every minted id in the topic at least once (`copies`), and counted exactly once (`counted`). */
export function auditDeviceIds(
  minted: Iterable<string>,
  copies: ReadonlyMap<string, number>,
  counted: ReadonlyMap<string, number>,
): DeviceAudit {
  let total = 0;
  let duplicates = 0;
  const missing: string[] = [];
  const miscounted: string[] = [];
  for (const id of minted) {
    total += 1;
    const n = copies.get(id) ?? 0;
    if (n === 0) missing.push(id);
    else duplicates += n - 1;
    if ((counted.get(id) ?? 0) !== 1) miscounted.push(id);
  }
  return {
    minted: total,
    missing: missing.length,
    missingSample: missing.slice(0, 10),
    duplicates,
    miscounted: miscounted.length,
    miscountedSample: miscounted.slice(0, 10),
  };
}
