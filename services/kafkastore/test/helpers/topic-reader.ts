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
  const crashes: Error[] = [];
  consumer.onCrash((error) => crashes.push(error));
  t.after(() => consumer.stop());
  await consumer.start((batch) => {
    messages.push(...batch.messages);
    return Promise.resolve();
  });
  await consumer.waitForAssignment(30_000);
  const countsById = (): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const m of messages) {
      const id = m.headers['id'] ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  return {
    messages,
    countsById,
    async waitForIds(ids, timeoutMs = 30_000) {
      let missing = ids.length;
      try {
        await eventually(
          `${ids.length} ids on ${topic}`,
          () => {
            const crash = crashes[0];
            if (crash) throw crash;
            const counts = countsById();
            missing = ids.filter((id) => !counts.has(id)).length;
            return missing === 0 ? true : undefined;
          },
          timeoutMs,
        );
      } catch (error: unknown) {
        throw new Error(`${missing} of ${ids.length} ids never arrived on ${topic}`, { cause: error });
      }
    },
    async waitForCount(count, timeoutMs = 30_000) {
      await eventually(`${count} messages on ${topic}`, () => (messages.length >= count ? true : undefined), timeoutMs);
    },
  };
}
