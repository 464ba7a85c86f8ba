import { randomBytes } from 'node:crypto';
import { createAdmin, createConsumer, silentLogger, type IncomingMessage } from '@pushtech/runtime';

/**
 * Every message of `topic` now in Kafka, read from the beginning in a group of its own (each
 * partition and offset once), in offset order per partition. Rejects after `timeoutMs`.
 */
export async function readWholeTopic(brokers: string, topic: string, timeoutMs: number): Promise<IncomingMessage[]> {
  const admin = createAdmin({ brokers: brokers.split(','), clientId: 'chaos-topic-reader-admin' }, silentLogger());
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    ends = new Map((await admin.topicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const groupId = `chaos-topic-reader-${randomBytes(4).toString('hex')}`;
  const consumer = createConsumer({ brokers: brokers.split(','), clientId: groupId }, silentLogger(), {
    groupId,
    topics: [topic],
    fromBeginning: true,
    maxWaitMs: 100,
  });
  const byPosition = new Map<string, IncomingMessage>();
  const readUpTo = new Map<number, bigint>();
  const done = (): boolean => [...ends].every(([partition, high]) => (readUpTo.get(partition) ?? 0n) >= high);
  try {
    await consumer.start((batch) => {
      for (const message of batch.messages) {
        byPosition.set(`${batch.partition}/${message.offset}`, message);
        const next = BigInt(message.offset) + 1n;
        if (next > (readUpTo.get(batch.partition) ?? 0n)) readUpTo.set(batch.partition, next);
      }
      return Promise.resolve();
    });
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: not at its end after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await consumer.stop();
  }
  return [...byPosition.values()].sort((a, b) =>
    a.partition !== b.partition ? a.partition - b.partition : Number(BigInt(a.offset) - BigInt(b.offset)),
  );
}
