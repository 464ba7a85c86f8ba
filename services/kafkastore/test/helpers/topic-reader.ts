import { createConsumer, silentLogger, type IncomingMessage, type KafkaConnection } from '@pushtech/runtime';
import { eventually, uniqueName, type Cleanup } from '@pushtech/devstack/testing';

/** Everything that arrives on one topic, read by a fresh consumer group from the beginning. */
export interface TopicReader {
  readonly messages: readonly IncomingMessage[];
  /** Message count per `id` header. */
  countsById(): Map<string, number>;
  /** Resolves once every id has arrived at least once; the error names how many are missing. */
  waitForIds(ids: readonly string[], timeoutMs?: number): Promise<void>;
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
}

export async function readTopic(t: Cleanup, connection: KafkaConnection, topic: string): Promise<TopicReader> {
  const consumer = createConsumer(connection, silentLogger(), {
    groupId: uniqueName('kafkastore-test'),
    topics: [topic],
    fromBeginning: true,
    maxWaitMs: 50,
  });
  const messages: IncomingMessage[] = [];
  // Kept as messages arrive: a wait polls every 25 ms, and recounting some 300,000 messages on
  // each poll held the event loop the consumer runs on (the crash test's reader fell to about
  // 4,500 messages a second on a busy machine and timed out while Redis was long empty).
  const counts = new Map<string, number>();
  const crashes: Error[] = [];
  consumer.onCrash((error) => crashes.push(error));
  t.after(() => consumer.stop());
  await consumer.start((batch) => {
    for (const m of batch.messages) {
      messages.push(m);
      const id = m.headers['id'] ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return Promise.resolve();
  });
  await consumer.waitForAssignment(30_000);
  return {
    messages,
    countsById: () => new Map(counts),
    async waitForIds(ids, timeoutMs = 30_000) {
      // Each poll looks only at the messages that arrived since the one before.
      const missing = new Set(ids.filter((id) => !counts.has(id)));
      let seen = messages.length;
      try {
        await eventually(
          `${ids.length} ids on ${topic}`,
          () => {
            const crash = crashes[0];
            if (crash) throw crash;
            for (; seen < messages.length; seen++) missing.delete(messages[seen]?.headers['id'] ?? '');
            return missing.size === 0 ? true : undefined;
          },
          timeoutMs,
        );
      } catch (error: unknown) {
        throw new Error(`${missing.size} of ${ids.length} ids never arrived on ${topic}`, { cause: error });
      }
    },
    async waitForCount(count, timeoutMs = 30_000) {
      await eventually(`${count} messages on ${topic}`, () => (messages.length >= count ? true : undefined), timeoutMs);
    },
  };
}
