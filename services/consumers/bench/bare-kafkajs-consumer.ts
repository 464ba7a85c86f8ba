/**
 * The benchmark baseline for the consumer kit (consumers.bench.ts): a bare kafkajs group consumer
 * that only counts messages, the usual way (eachBatch, kafkajs's own auto-commit). It uses kafkajs
 * directly, not through the runtime, and only for measuring.
 */
import { Kafka, logLevel } from 'kafkajs';

export interface BareRun {
  readonly messages: number;
  /** From the first batch's arrival to the last message counted (joining the group excluded). */
  readonly ms: number;
}

/** Reads `topic` from the beginning in a fresh group until `expected` messages arrived. */
export async function consumeWithBareKafkajs(options: {
  brokers: readonly string[];
  topic: string;
  groupId: string;
  expected: number;
  /** Work done per message, e.g. decoding it (a second baseline); nothing by default. */
  perMessage?: (value: Buffer | null) => void;
}): Promise<BareRun> {
  const perMessage = options.perMessage;
  const kafka = new Kafka({ clientId: 'bench-bare', brokers: [...options.brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  let messages = 0;
  let started: number | undefined;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: ({ batch }) => {
        started ??= performance.now();
        if (perMessage) for (const m of batch.messages) perMessage(m.value);
        messages += batch.messages.length;
        if (messages >= options.expected) resolve(performance.now());
        return Promise.resolve();
      },
    });
  });
  const ended = await done;
  await consumer.disconnect();
  return { messages, ms: ended - (started ?? ended) };
}
