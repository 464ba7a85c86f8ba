/**
 * Events/s handled by a no-op consumer through the kit (lazy events, retry wrapper, commit after
 * each batch, metrics) against a bare kafkajs consumer reading the same topic, in the same run;
 * and a consumer reading every event's fields against a bare kafkajs consumer that decodes each
 * message. Each run is timed from its first batch to its last event, so joining the group (a
 * rebalance wait of kafkajs's, seconds) is not counted for either.
 * Prints a table and writes `${PUSHTECH_BENCH_RESULTS ?? <repo>/.bench-results}/consumers.json`.
 */
import { ConsumerService, consumerKitSettings, defineConsumer, type ConsumedEvent } from '@pushtech/consumer-kit';
import { sampleEvent } from '@pushtech/consumer-kit/testing';
import { decodeMessage, encodeMessage } from '@pushtech/event';
import {
  createAdmin,
  createMetricsRegistry,
  createProducer,
  parseConfig,
  silentLogger,
  type OutgoingMessage,
} from '@pushtech/runtime';
import { uniqueName } from '@pushtech/devstack/testing';
import { benchNumber, benchStack, median, writeResult } from '@pushtech/bench';
import { consumeWithBareKafkajs } from './bare-kafkajs-consumer.js';

const EVENTS = benchNumber('BENCH_EVENTS', 400_000);
const ROUNDS = 3;
const PARTITIONS = 6;
const MAX_OVERHEAD = 0.2;

const infra = await benchStack();
const brokers = [infra.kafkaBrokers];
const logger = silentLogger();
const admin = createAdmin({ brokers, clientId: 'bench-admin' }, logger);
await admin.connect();
const topic = uniqueName('bench-consumers');
const dlq = `${topic}.dlq`;
await admin.ensureTopics([
  { topic, partitions: PARTITIONS },
  { topic: dlq, partitions: 1 },
]);

try {
  const producer = createProducer({ brokers, clientId: 'bench-producer' }, logger);
  await producer.connect();
  const messages: OutgoingMessage[] = Array.from({ length: EVENTS }, (_, i) => ({
    key: `device-${i % 1000}`,
    value: encodeMessage(sampleEvent({ params: [['i', String(i)]] })),
  }));
  for (let i = 0; i < messages.length; i += 5_000) await producer.send(topic, messages.slice(i, i + 5_000));
  await producer.disconnect();

  /** A handler that reads what a typical consumer reads: type, id, receive time, a meta field. */
  let checksum = 0;
  const readEveryField = (events: readonly ConsumedEvent[]): void => {
    for (const e of events) checksum += e.type.length + e.id.length + e.receivedAt + e.meta.country.length;
  };

  async function kitRun(readFields: boolean): Promise<number> {
    const env = {
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: dlq,
      KAFKA_CLIENT_ID: uniqueName('bench'),
    };
    let handled = 0;
    let firstBatchAt: number | undefined;
    let resolveDone: (ms: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => (resolveDone = resolve));
    const noop = defineConsumer({
      name: 'noop',
      handleBatch(events) {
        firstBatchAt ??= performance.now();
        if (readFields) readEveryField(events);
        handled += events.length;
        if (handled >= EVENTS) resolveDone(performance.now());
        return Promise.resolve();
      },
    });
    const service = new ConsumerService({
      definitions: [noop],
      config: parseConfig('bench', consumerKitSettings, env),
      env,
      logger,
      registry: createMetricsRegistry('bench', { processMetrics: false }),
    });
    await service.start();
    const ended = await done;
    await service.stop();
    return ended - (firstBatchAt ?? ended);
  }

  async function bareRun(decode: boolean): Promise<number> {
    const run = await consumeWithBareKafkajs({
      brokers,
      topic,
      groupId: uniqueName('bench-bare'),
      expected: EVENTS,
      ...(decode ? { perMessage: (value: Buffer | null) => void decodeMessage(value?.toString('utf8') ?? '') } : {}),
    });
    return run.ms;
  }

  const bare: number[] = [];
  const bareDecoding: number[] = [];
  const kit: number[] = [];
  const kitReading: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    bare.push(await bareRun(false));
    kit.push(await kitRun(false));
    bareDecoding.push(await bareRun(true));
    kitReading.push(await kitRun(true));
  }
  const rate = (ms: number): number => Math.round((EVENTS / ms) * 1000);
  const bareRate = rate(median(bare));
  const bareDecodingRate = rate(median(bareDecoding));
  const kitRate = rate(median(kit));
  const kitReadingRate = rate(median(kitReading));
  const overhead = 1 - kitRate / bareRate;
  const overheadOverDecoding = 1 - kitReadingRate / bareDecodingRate;
  const rows = [
    { consumer: 'bare kafkajs (baseline)', 'events/s': bareRate, 'runs ms': bare.map(Math.round).join(' / ') },
    {
      consumer: 'bare kafkajs + decodeMessage',
      'events/s': bareDecodingRate,
      'runs ms': bareDecoding.map(Math.round).join(' / '),
    },
    { consumer: 'consumer kit, no-op handler', 'events/s': kitRate, 'runs ms': kit.map(Math.round).join(' / ') },
    {
      consumer: 'consumer kit, handler reading every event',
      'events/s': kitReadingRate,
      'runs ms': kitReading.map(Math.round).join(' / '),
    },
  ];
  console.log(`\n${EVENTS} events, ${PARTITIONS} partitions, median of ${ROUNDS} runs each`);
  console.table(rows);
  const verdict = overhead <= MAX_OVERHEAD ? 'ok' : 'over budget';
  console.log(
    `kit overhead vs bare kafkajs: ${(overhead * 100).toFixed(1)}% (budget ${MAX_OVERHEAD * 100}%): ${verdict}`,
  );
  console.log(
    `kit reading every event vs bare kafkajs + decodeMessage: ${(overheadOverDecoding * 100).toFixed(1)}% overhead (checksum ${checksum})`,
  );

  const file = writeResult('consumers', {
    events: EVENTS,
    partitions: PARTITIONS,
    rounds: ROUNDS,
    bare: { ms: bare, eventsPerSecond: bareRate },
    bareDecoding: { ms: bareDecoding, eventsPerSecond: bareDecodingRate },
    overheadOverDecoding,
    kit: { ms: kit, eventsPerSecond: kitRate },
    kitReading: { ms: kitReading, eventsPerSecond: kitReadingRate },
    overhead,
    maxOverhead: MAX_OVERHEAD,
    verdict,
    at: new Date().toISOString(),
    summary: {
      bench: 'consumers',
      title: 'Consumer kit: no-op handler against a bare kafkajs consumer',
      rows: [
        { name: 'bare kafkajs consumer', metric: 'events/s', value: bareRate, baseline: true },
        { name: 'bare kafkajs + decodeMessage', metric: 'events/s', value: bareDecodingRate },
        { name: 'consumer kit, no-op handler', metric: 'events/s', value: kitRate },
        { name: 'consumer kit, handler reading every event', metric: 'events/s', value: kitReadingRate },
      ],
      goals: [
        {
          goal: `kit overhead <= ${MAX_OVERHEAD * 100}% of bare kafkajs`,
          value: `${(overhead * 100).toFixed(0)}%`,
          met: overhead <= MAX_OVERHEAD,
        },
      ],
      notes: [
        `${EVENTS} events, ${PARTITIONS} partitions, median of ${ROUNDS} runs, each timed from its first batch to its last event`,
        `events are decoded when a handler reads them; a handler reading every event's fields runs at ${(100 * (1 - overheadOverDecoding)).toFixed(0)}% of a bare kafkajs consumer that decodes every message`,
      ],
    },
  });
  console.log(`wrote ${file}`);
} finally {
  await admin.deleteTopics([topic, dlq]);
  await admin.disconnect();
  await infra.stop();
}
