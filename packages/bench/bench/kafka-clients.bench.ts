/**
 * The two client libraries behind the runtime's EventProducer (KAFKA_CLIENT=kafkajs|platformatic),
 * producing the same pre-built batches of pipeline-sized messages to the same broker in the same
 * run, acks=all, one batch in flight as kafkastore does. The clients alternate ABBA round by round
 * so that drift (other work on the shared cores, the broker's log growing) hits both alike.
 *
 * Uses the broker of `npm run bench` (PUSHTECH_TEST_KAFKA_BROKERS) or starts its own. Prints a
 * table and writes JSON to $PUSHTECH_BENCH_RESULTS/kafka-clients.json.
 * BENCH_ROUNDS (default 4) and BENCH_RECORDS (records per client, batch size and round; default
 * 40000) scale the run.
 */
import { availableParallelism, loadavg } from 'node:os';
import { createEventIdGenerator, encodeMessage } from '@pushtech/event';
import {
  createAdmin,
  createProducer,
  kafkaClients,
  silentLogger,
  type KafkaClient,
  type KafkaConnection,
  javaKeyPartition,
  type OutgoingMessage,
  type PartitionBatch,
} from '@pushtech/runtime';
import { benchNumber, benchNumbers, benchStack, median, percentile, writeResult } from '../src/index.js';

const ROUNDS = benchNumber('BENCH_ROUNDS', 4);
const RECORDS = benchNumber('BENCH_RECORDS', 40_000);
const BATCH_SIZES = benchNumbers('BENCH_BATCHES', [100, 500, 2000]);
/**
 * send: one request per batch (sendMany, as kafkastore did up to issue 19); produce: one request
 * per partition (EventProducer.produce, kafkastore's way since); idempotent: send with Kafka's
 * idempotent producer (the alternative to produce for never writing an acknowledged batch twice).
 */
const MODE = process.env['BENCH_MODE'] ?? 'send';
if (MODE !== 'send' && MODE !== 'produce' && MODE !== 'idempotent') throw new Error(`BENCH_MODE=${MODE}?`);
/**
 * At this batch size each round also runs the same mode with Kafka's idempotent producer, right
 * before or after the plain one (alternating), so its cost is measured against a baseline of the
 * same run; 0 turns it off. In BENCH_MODE=idempotent every round is idempotent already.
 */
const IDEMPOTENCE_BATCH = benchNumber('BENCH_IDEMPOTENCE_BATCH', 500, { min: 0 });
const PARTITIONS = 6;
const names: Record<KafkaClient, string> = { kafkajs: 'kafkajs', platformatic: '@platformatic/kafka' };
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/** A message as kafkastore produces it: the encoded event, the device id as key, the event id header. */
function pipelineMessages(count: number): OutgoingMessage[] {
  const nextId = createEventIdGenerator();
  const types = ['app_open', 'screen_view', 'click', 'purchase'] as const;
  return Array.from({ length: count }, (_, i) => {
    const id = nextId();
    const ts = Date.now() - 5_000 + (i % 5_000);
    const deviceid = `device-${(i * 7919) % 10_000}`;
    const value = encodeMessage({
      type: types[i % types.length] ?? 'app_open',
      meta: {
        type: 'Mobile',
        browser: 'Mobile Safari',
        engine: 'WebKit',
        version: '17.4.1',
        os: 'iOS',
        host: 't.example.com',
        ts,
        ip: `81.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`,
        klag: 12 + (i % 40),
        country: 'DE',
        city: 'Berlin',
        id,
        pod: '10.1.2.3',
        region: 'Land Berlin',
        lat: 52.5196,
        lon: 13.4069,
        osVersion: '17.4.1',
        vendor: 'Apple',
        model: 'iPhone',
        extra: [],
      },
      params: [
        ['deviceid', deviceid],
        ['ts', String(ts)],
        ['referrer', 'website'],
        ['screen', 'product_detail'],
        ['campaign', 'spring-sale-2025'],
        ['app_version', '5.12.0'],
        ['session', `s-${(i * 31) % 100_000}`],
      ],
    });
    return { key: deviceid, value, headers: { id } };
  });
}

function batchesOf(messages: readonly OutgoingMessage[], size: number): OutgoingMessage[][] {
  const batches: OutgoingMessage[][] = [];
  for (let i = 0; i < messages.length; i += size) batches.push(messages.slice(i, i + size));
  return batches;
}

/** A batch split by the Java client's key partition, as kafkastore sends it. */
function byPartition(topic: string, batch: readonly OutgoingMessage[]): PartitionBatch[] {
  const partitions = new Map<number, OutgoingMessage[]>();
  for (const message of batch) {
    const partition = javaKeyPartition(Buffer.from(message.key ?? ''), PARTITIONS);
    const messages = partitions.get(partition);
    if (messages) messages.push(message);
    else partitions.set(partition, [message]);
  }
  return [...partitions].map(([partition, messages]) => ({ topic, partition, messages }));
}

interface Round {
  readonly recordsPerSecond: number;
  /** Producer process CPU (user + system) per record: the client's cost on a busy machine. */
  readonly cpuMicrosPerRecord: number;
  readonly batchMs: number[];
}

/** Sends every batch one after the other (kafkastore's way: the next batch waits for the ack). */
async function runRound(
  connection: KafkaConnection,
  topic: string,
  batches: readonly OutgoingMessage[][],
  idempotent = MODE === 'idempotent',
): Promise<Round> {
  const producer = createProducer(connection, silentLogger(), { idempotent });
  await producer.connect();
  try {
    const batchMs: number[] = [];
    let records = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const batch of batches) {
      const sent = performance.now();
      if (MODE === 'produce') {
        const outcomes = await producer.produce(byPartition(topic, batch));
        if (outcomes.some((o) => o.kind !== 'acked'))
          throw new Error(`a partition was refused: ${JSON.stringify(outcomes)}`);
      } else {
        await producer.send(topic, batch);
      }
      batchMs.push(performance.now() - sent);
      records += batch.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { recordsPerSecond: records / seconds, cpuMicrosPerRecord: (cpu.user + cpu.system) / records, batchMs };
  } finally {
    await producer.disconnect();
  }
}

interface RoundsSummary {
  readonly recordsPerSecond: number;
  readonly recordsPerSecondRounds: number[];
  readonly cpuMicrosPerRecord: number;
  readonly batchMsP50: number;
}

/** One client at one batch size: the mode with and without Kafka's idempotent producer. */
interface IdempotenceResult {
  readonly client: KafkaClient;
  readonly batch: number;
  readonly plain: RoundsSummary;
  readonly idempotent: RoundsSummary;
}

interface Result {
  readonly client: KafkaClient;
  readonly batch: number;
  /** Median of the rounds. */
  readonly recordsPerSecond: number;
  readonly recordsPerSecondRounds: number[];
  readonly cpuMicrosPerRecord: number;
  readonly batchMsP50: number;
  readonly batchMsP99: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = loadavg()[0] ?? 0;
  const stack = await benchStack({ kafkaHeapMb: 1024, log });
  const brokers = stack.kafkaBrokers;
  const run = Date.now().toString(36);
  const adminConnection: KafkaConnection = { brokers: [brokers], clientId: 'kafka-clients-bench' };
  const topics: Record<KafkaClient, string> = {
    kafkajs: `bench-kafka-clients-kafkajs-${run}`,
    platformatic: `bench-kafka-clients-platformatic-${run}`,
  };
  const admin = createAdmin(adminConnection, silentLogger());
  await admin.connect();
  try {
    await admin.ensureTopics(kafkaClients.map((c) => ({ topic: topics[c], partitions: PARTITIONS })));
    const messages = pipelineMessages(RECORDS);
    const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.value), 0) / messages.length;
    log(
      `${RECORDS} messages of ${Math.round(bytes)} bytes on average, ${ROUNDS} rounds, ${PARTITIONS} partitions, ` +
        `mode ${MODE}`,
    );
    const produced: Record<KafkaClient, number> = { kafkajs: 0, platformatic: 0 };
    const connection = (client: KafkaClient): KafkaConnection => ({
      brokers: [brokers],
      clientId: `kafka-clients-bench-${client}`,
      client,
    });

    const results: Result[] = [];
    const idempotence: IdempotenceResult[] = [];
    for (const size of BATCH_SIZES) {
      const batches = batchesOf(messages, size);
      // Warm-up: JIT, the broker's page cache and segment files, a first metadata fetch.
      for (const client of kafkaClients) {
        await runRound(connection(client), topics[client], batches.slice(0, Math.ceil(batches.length / 4)));
        produced[client] += batches.slice(0, Math.ceil(batches.length / 4)).reduce((n, b) => n + b.length, 0);
      }
      const rounds: Record<KafkaClient, Round[]> = { kafkajs: [], platformatic: [] };
      const idempotentRounds: Record<KafkaClient, Round[]> = { kafkajs: [], platformatic: [] };
      const withIdempotence = size === IDEMPOTENCE_BATCH && MODE !== 'idempotent';
      for (let r = 0; r < ROUNDS; r++) {
        // ABBA: the client that went second in one round goes first in the next.
        const order = r % 2 === 0 ? kafkaClients : [...kafkaClients].reverse();
        for (const client of order) {
          // The idempotent round goes second in one round and first in the next, likewise.
          const variants = !withIdempotence ? [false] : r % 2 === 0 ? [false, true] : [true, false];
          for (const idempotent of variants) {
            const round = await runRound(
              connection(client),
              topics[client],
              batches,
              idempotent || MODE === 'idempotent',
            );
            (idempotent ? idempotentRounds : rounds)[client].push(round);
            produced[client] += RECORDS;
            log(
              `batch ${size}, round ${r + 1}, ${names[client]}${idempotent ? ' idempotent' : ''}: ` +
                `${Math.round(round.recordsPerSecond)} records/s, ${round.cpuMicrosPerRecord.toFixed(1)} µs CPU/record`,
            );
          }
        }
      }
      if (withIdempotence) {
        for (const client of kafkaClients) {
          const summarize = (list: Round[]) => ({
            recordsPerSecond: Math.round(median(list.map((r) => r.recordsPerSecond))),
            recordsPerSecondRounds: list.map((r) => Math.round(r.recordsPerSecond)),
            cpuMicrosPerRecord: Number(median(list.map((r) => r.cpuMicrosPerRecord)).toFixed(1)),
            batchMsP50: Number(
              percentile(
                list.flatMap((r) => r.batchMs).sort((a, b) => a - b),
                50,
              ).toFixed(2),
            ),
          });
          idempotence.push({
            client,
            batch: size,
            plain: summarize(rounds[client]),
            idempotent: summarize(idempotentRounds[client]),
          });
        }
      }
      for (const client of kafkaClients) {
        const latencies = rounds[client].flatMap((r) => r.batchMs).sort((a, b) => a - b);
        results.push({
          client,
          batch: size,
          recordsPerSecond: Math.round(median(rounds[client].map((r) => r.recordsPerSecond))),
          recordsPerSecondRounds: rounds[client].map((r) => Math.round(r.recordsPerSecond)),
          cpuMicrosPerRecord: Number(median(rounds[client].map((r) => r.cpuMicrosPerRecord)).toFixed(1)),
          batchMsP50: Number(percentile(latencies, 50).toFixed(2)),
          batchMsP99: Number(percentile(latencies, 99).toFixed(2)),
        });
      }
    }

    // Every acknowledged record must be in the topic: a fast client that loses messages is no result.
    for (const client of kafkaClients) {
      const stored = (await admin.topicOffsets(topics[client])).reduce((n, p) => n + Number(p.high), 0);
      if (stored !== produced[client]) {
        throw new Error(`${names[client]}: ${produced[client]} records acknowledged but ${stored} stored`);
      }
    }

    const find = (client: KafkaClient, batch: number): Result => {
      const found = results.find((r) => r.client === client && r.batch === batch);
      if (!found) throw new Error(`no result for ${client} batch ${batch}`);
      return found;
    };
    const table: Record<string, Record<string, number | string>> = {};
    for (const size of BATCH_SIZES) {
      for (const client of kafkaClients) {
        const r = find(client, size);
        table[`${names[client]} (batch ${size})`] = {
          'records/s': r.recordsPerSecond,
          'rounds min-max': `${Math.min(...r.recordsPerSecondRounds)}-${Math.max(...r.recordsPerSecondRounds)}`,
          'µs CPU/record': r.cpuMicrosPerRecord,
          'batch ms p50': r.batchMsP50,
          'batch ms p99': r.batchMsP99,
        };
      }
      const ratio = find('platformatic', size).recordsPerSecond / find('kafkajs', size).recordsPerSecond;
      table[`  ratio (batch ${size})`] = { 'records/s': `${ratio.toFixed(2)}x` };
    }
    console.table(table);
    if (idempotence.length > 0) {
      console.table(
        Object.fromEntries(
          idempotence.flatMap((i) =>
            (['plain', 'idempotent'] as const).map((variant) => [
              `${names[i.client]} (batch ${i.batch}, ${MODE}${variant === 'idempotent' ? ', idempotent' : ''})`,
              {
                'records/s': i[variant].recordsPerSecond,
                'rounds min-max': `${Math.min(...i[variant].recordsPerSecondRounds)}-${Math.max(...i[variant].recordsPerSecondRounds)}`,
                'µs CPU/record': i[variant].cpuMicrosPerRecord,
                'batch ms p50': i[variant].batchMsP50,
              },
            ]),
          ),
        ),
      );
    }

    const ratio500 = find('platformatic', 500).recordsPerSecond / find('kafkajs', 500).recordsPerSecond;
    const summary = {
      bench: 'kafka-clients',
      title: 'Kafka client: kafkajs vs @platformatic/kafka',
      rows: [
        ...BATCH_SIZES.flatMap((size) =>
          kafkaClients.map((client) => ({
            name: `${names[client]} (batch ${size})`,
            metric: 'records/s',
            value: find(client, size).recordsPerSecond,
            ...(client === 'kafkajs' ? { baseline: true } : {}),
          })),
        ),
        ...kafkaClients.flatMap((client) => [
          {
            name: `${names[client]} (batch 500)`,
            metric: 'ms p50',
            value: find(client, 500).batchMsP50,
            ...(client === 'kafkajs' ? { baseline: true } : {}),
          },
          {
            name: `${names[client]} (batch 500)`,
            metric: 'ms p99',
            value: find(client, 500).batchMsP99,
            ...(client === 'kafkajs' ? { baseline: true } : {}),
          },
          {
            name: `${names[client]} (batch 500)`,
            metric: 'µs CPU per record',
            value: find(client, 500).cpuMicrosPerRecord,
            ...(client === 'kafkajs' ? { baseline: true } : {}),
          },
        ]),
      ],
      goals: [],
      notes: [
        ...idempotence.map(
          (i) =>
            `${names[i.client]}, batch ${i.batch}, ${MODE}: the idempotent producer ${i.idempotent.recordsPerSecond} ` +
            `against ${i.plain.recordsPerSecond} records/s without (${(i.idempotent.recordsPerSecond / i.plain.recordsPerSecond).toFixed(2)}x), ` +
            `${i.idempotent.cpuMicrosPerRecord} against ${i.plain.cpuMicrosPerRecord} µs CPU per record, in the same rounds`,
        ),
        `at batch 500 @platformatic/kafka produces ${ratio500.toFixed(2)}x the records/s of kafkajs, using ` +
          `${find('platformatic', 500).cpuMicrosPerRecord} against ${find('kafkajs', 500).cpuMicrosPerRecord} µs CPU ` +
          `per record (acks=all, ${Math.round(bytes)}-byte messages, same broker, ${ROUNDS} alternating rounds)`,
      ],
    };
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: availableParallelism(), node: process.version, loadAverage1m: Number(load.toFixed(2)) },
      records: RECORDS,
      rounds: ROUNDS,
      partitions: PARTITIONS,
      messageBytes: Math.round(bytes),
      acks: 'all',
      results,
      idempotence,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      summary,
    };
    const outFile = writeResult('kafka-clients', report);
    log(`results in ${outFile} (${report.durationSeconds} s)`);
    await admin.deleteTopics(Object.values(topics));
  } finally {
    await admin.disconnect();
    await stack.stop();
  }
}

await main();
