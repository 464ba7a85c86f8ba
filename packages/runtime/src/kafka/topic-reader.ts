import { randomBytes } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { PushtechError } from '../errors.js';
import type { Logger } from '../logger.js';
import { whileLeadersSettle } from './admin.js';
import { createKafkaClient } from './client.js';
import type { IncomingMessage, KafkaConnection, PartitionOffsets } from './types.js';

export interface TopicReadOptions {
  readonly topic: string;
  /**
   * Where each partition is read from, given its offsets when the read starts; a partition left
   * out starts at its first stored offset. Offsets outside [low, high] are clamped into it.
   */
  readonly from?: (offsets: readonly PartitionOffsets[]) => ReadonlyMap<number, string>;
  /** `end`: up to where each partition ended when the read started; `follow`: until stop(). */
  readonly until: 'end' | 'follow';
  /** One partition's messages, in offset order; the next batch waits for it. */
  readonly onBatch: (messages: readonly IncomingMessage[]) => Promise<void> | void;
  /**
   * How long the broker holds a fetch that found nothing new (a long poll; a message that
   * arrives meanwhile is answered at once): how often a reader that follows an idle topic asks,
   * and the longest stop() waits for the fetch in flight. 200 ms unless set.
   */
  readonly maxWaitMs?: number;
}

export interface TopicReader {
  /** Resolves when every partition was read to its end (`end`) or the reader was stopped; rejects on a crash. */
  readonly done: Promise<void>;
  /** Leaves and removes the reader's group; idempotent. */
  stop(): Promise<void>;
}

/**
 * Reads a topic by offsets, for tools and views that must not move anyone's position: the
 * consumer commits nothing, and its throwaway group is deleted when it stops, so nothing is
 * left behind (kafkajs has no group-less read; a group with no offsets is what comes closest).
 */
export async function readTopicByOffsets(
  connection: KafkaConnection,
  logger: Logger,
  options: TopicReadOptions,
): Promise<TopicReader> {
  const kafka = createKafkaClient(connection, logger);
  const admin = kafka.admin();
  await admin.connect();
  let offsets: PartitionOffsets[];
  try {
    // Asked first: a metadata request for a missing topic may create it on a broker that auto-creates.
    if (!(await admin.listTopics()).includes(options.topic)) {
      throw new PushtechError('PT_ERR_KAFKA_ADMIN', `topic ${options.topic} does not exist`);
    }
    offsets = (await whileLeadersSettle(() => admin.fetchTopicOffsets(options.topic)))
      .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
      .sort((a, b) => a.partition - b.partition);
  } catch (error: unknown) {
    await admin.disconnect();
    throw error;
  }
  const wanted = options.from?.(offsets) ?? new Map<number, string>();
  const starts = new Map<number, bigint>();
  const ends = new Map<number, bigint>();
  for (const o of offsets) {
    const low = BigInt(o.low);
    const high = BigInt(o.high);
    const asked = wanted.get(o.partition);
    const start = asked === undefined ? low : BigInt(asked);
    starts.set(o.partition, start < low ? low : start > high ? high : start);
    ends.set(o.partition, high);
  }
  const pending = new Set(
    options.until === 'follow'
      ? []
      : offsets.filter((o) => (starts.get(o.partition) ?? 0n) < BigInt(o.high)).map((o) => o.partition),
  );
  if (options.until === 'end' && pending.size === 0) {
    await admin.disconnect();
    return { done: Promise.resolve(), stop: () => Promise.resolve() };
  }

  const groupId = `${connection.clientId}-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: options.maxWaitMs ?? 200,
    allowAutoTopicCreation: false,
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  let finish: () => void = () => undefined;
  let failed: (error: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    failed = reject;
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await consumer.disconnect().catch(() => undefined);
      // Nothing was committed; this removes the empty group at once instead of at expiry.
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      finish();
    })());
  // Where each partition goes on from: its start, then past what was read. Sought at every join
  // (kafkajs forgets a seek when it restarts the consumer after a crash, and refuses one while it
  // is between groups), and the filter below drops what a rejoin delivers again.
  const next = new Map(starts);
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of next) consumer.seek({ topic: options.topic, partition, offset: String(offset) });
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (event.payload.restart || stopping !== undefined) return;
    failed(event.payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const start = next.get(batch.partition) ?? 0n;
        const end = options.until === 'end' ? (ends.get(batch.partition) ?? 0n) : undefined;
        const messages = batch.messages
          .filter((m) => BigInt(m.offset) >= start && (end === undefined || BigInt(m.offset) < end))
          .map((m) => toIncoming(batch.topic, batch.partition, m));
        if (messages.length > 0 && stopping === undefined) await options.onBatch(messages);
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) {
          payload.resolveOffset(last.offset);
          if (BigInt(last.offset) + 1n > start) next.set(batch.partition, BigInt(last.offset) + 1n);
        }
        await payload.heartbeat();
        if (end !== undefined && last !== undefined && BigInt(last.offset) + 1n >= end) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
      },
    });
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  return { done, stop };
}

function toIncoming(topic: string, partition: number, m: KafkaMessage): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first.toString();
  }
  return { topic, partition, offset: m.offset, timestamp: Number(m.timestamp), key: m.key, value: m.value, headers };
}
