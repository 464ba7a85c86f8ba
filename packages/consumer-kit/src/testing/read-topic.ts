import { createConsumer, silentLogger, type IncomingMessage } from '@pushtech/runtime';
import { eventually, testKafka, uniqueName, type Cleanup } from '@pushtech/devstack/testing';

/** Reads a topic from the beginning until `count` messages arrived (e.g. the dead letters). */
export async function readTopic(
  t: Cleanup,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<IncomingMessage[]> {
  const consumer = createConsumer(await testKafka(), silentLogger(), {
    groupId: uniqueName('reader'),
    topics: [topic],
    fromBeginning: true,
  });
  t.after(() => consumer.stop());
  const received: IncomingMessage[] = [];
  await consumer.start((batch) => {
    received.push(...batch.messages);
    return Promise.resolve();
  });
  try {
    await eventually(`${count} messages on ${topic}`, () => (received.length >= count ? true : undefined), timeoutMs);
  } finally {
    await consumer.stop();
  }
  return received;
}
