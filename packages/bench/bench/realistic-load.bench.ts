/**
 * Efficiency at the rates users run (issue 21): the pipeline in `npm start`'s default layout
 * (devstack up: buffer Redis, consumers' Redis, Kafka, tracker with its workers, kafkastore, the
 * built-in consumers, kafidx with no browser), on private ports and a private state folder,
 * driven by the project's load generator at steady rates. For every rate, after a warm-up, it
 * reads each process's CPU time from /proc (children included: the tracker's workers, npm and
 * what it started) before and after a window of steady load, and reports CPU per acknowledged
 * event per process and in sum. The load generator (this process) and the latency probe (a
 * consumer of its own, for receive -> consumer latency) are reported apart, as is the devstack
 * process itself. Of the broker's CPU, its JIT compiler threads are shown apart (one-off work of
 * its first minutes). Also: the stack idle (no traffic), and, as the baseline in the same run, the
 * same stack at saturation, where every stage sees its largest batches. Before the pipeline
 * starts, the floors at the same rates: a bare answer, a durable answer (services/tracker/bench)
 * and the broker alone with one producer and one consumer group (broker-floor.ts).
 *
 * Writes $PUSHTECH_BENCH_RESULTS/realistic-load.json. Env: BENCH_RATES (500,1000,3000,6000),
 * BENCH_SECONDS (20 per rate), BENCH_WARMUP_SECONDS (5), BENCH_IDLE_SECONDS (20),
 * BENCH_FLOOR_SECONDS (10 per rate and floor; 0: none),
 * BENCH_SATURATION_RATE (12000 offered), BENCH_SATURATION_SECONDS (10),
 * BENCH_PIPELINE_WARMUP_SECONDS (30) at BENCH_PIPELINE_WARMUP_RATE (2000) before anything is
 * measured, BENCH_KAFKA_CLIENT (the producer's client; unset: .env's), BENCH_CONNECTIONS (the
 * load generator's, 256; see loadConnections). Any other setting of the
 * stack (CONSUMER_FETCH_LINGER_MS=0, ...) passes through from the environment. Linux only (/proc).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startRedisServer } from '@pushtech/devstack';
import { startPrivateUp, type PrivateUpPorts } from '@pushtech/devstack/testing';
import { runLoad } from '@pushtech/loadgen';
import { createAdmin, silentLogger } from '@pushtech/runtime';
import {
  allProcesses,
  benchNumber,
  benchNumbers,
  loadConnections,
  machineInfo,
  machineTimes,
  processCommandLine,
  processCwd,
  resultsDir,
  threadCpuSeconds,
  treeCpuSeconds,
  treeSystemSeconds,
  writeResult,
  type ProcessStat,
} from '../src/index.js';
import { measureBrokerFloor, type BrokerFloors } from './broker-floor.js';
import { LatencyConsumer, sleep, track, trackDir, trackPid } from './latency-probe.js';
import { serviceArgs, startService, stopService } from './services.js';

const RATES = benchNumbers('BENCH_RATES', [500, 1000, 3000, 6000]);
const SECONDS = benchNumber('BENCH_SECONDS', 20);
const WARMUP_SECONDS = benchNumber('BENCH_WARMUP_SECONDS', 5, { min: 0 });
const IDLE_SECONDS = benchNumber('BENCH_IDLE_SECONDS', 20);
const SATURATION_RATE = benchNumber('BENCH_SATURATION_RATE', 12_000);
const SATURATION_SECONDS = benchNumber('BENCH_SATURATION_SECONDS', 10);
/** Seconds per rate against each floor (see measureFloors); 0: no floors. */
const FLOOR_SECONDS = benchNumber('BENCH_FLOOR_SECONDS', 10, { min: 0 });
/** The tracker's push linger (.env's TRACKER_PUSH_LINGER_MS), which the durable floor copies. */
const PUSH_LINGER_MS = Number(process.env['TRACKER_PUSH_LINGER_MS'] ?? 2);
/** The settings the broker's floor copies: kafkastore's linger, a built-in consumer's fetches and commits (.env). */
const KAFKASTORE_LINGER_MS = Number(process.env['KAFKASTORE_LINGER_MS'] ?? 20);
const FETCH_LINGER_MS = Number(process.env['CONSUMER_FETCH_LINGER_MS'] ?? 100);
const COMMIT_INTERVAL_MS = Number(process.env['CONSUMER_COMMIT_INTERVAL_MS'] ?? 1000);
/**
 * Load before anything is measured, so the one-off start-up work (the broker's JIT compiler
 * alone takes 20-50 % of a core for its first minute of traffic, V8's likewise) is not counted
 * as the idle stack's or a rate's cost. 0: none, as a fresh `npm start` would be measured.
 */
const PIPELINE_WARMUP_SECONDS = benchNumber('BENCH_PIPELINE_WARMUP_SECONDS', 30, { min: 0 });
const PIPELINE_WARMUP_RATE = benchNumber('BENCH_PIPELINE_WARMUP_RATE', 2_000);
/** The producer's client library under test (KAFKA_CLIENT); unset: the .env default. */
const KAFKA_CLIENT = process.env['BENCH_KAFKA_CLIENT'];
/** The load generator's connections (see loadConnections: 64 were too few). */
const CONNECTIONS = loadConnections();
/** The topic's partitions (.env's KAFKA_TOPIC_PARTITIONS), the broker's heap (devstack's private up). */
const PARTITIONS = 6;
const BROKER_HEAP_MB = 384;
/** About a pipeline message on the topic: a load generator event, enriched (key and headers included). */
const RECORD_BYTES = 400;
/** The topic `npm start` creates (.env KAFKA_TOPIC). */
const TOPIC = 'events';
const log = (line: string): void => void process.stdout.write(`realistic-load: ${line}\n`);

/**
 * The JVM's JIT compiler threads by name: they compile the broker's code for minutes after it
 * starts, a cost a broker that has run for long no longer pays (docs/BENCHMARKS.md).
 */
const JIT_THREADS = ['C1 CompilerThre', 'C2 CompilerThre'];
/** The pipeline's processes, in the issue's order; each is summed with its children. */
const PIPELINE = ['tracker', 'redis', 'consumers-redis', 'kafkastore', 'kafka', 'consumers', 'kafidx'] as const;
type Part = (typeof PIPELINE)[number];
const LABELS: Record<Part, string> = {
  tracker: 'tracker (supervisor + workers)',
  redis: 'Redis (buffer)',
  'consumers-redis': "consumers' Redis",
  kafkastore: 'kafkastore',
  kafka: 'Kafka broker (JVM)',
  consumers: 'consumers (the built-in ones, one process)',
  kafidx: 'kafidx (no browser connected)',
};

async function readyz(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Waits until the built-in consumers (groups `pushtech-<name>`, .env's KAFKA_CLIENT_ID) committed
 * every event of the topic: the idle window must not hold the tail of the warm-up. Returns ms.
 */
async function consumersCaughtUp(brokers: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const admin = createAdmin({ brokers: [brokers], clientId: 'realistic-load-bench' }, silentLogger());
  await admin.connect();
  try {
    for (;;) {
      const high = new Map((await admin.topicOffsets(TOPIC)).map((p) => [p.partition, BigInt(p.high)]));
      const groups = (await admin.listGroups()).filter((g) => g.startsWith('pushtech-'));
      let behind = 0n;
      for (const group of groups) {
        const committed = await admin.groupOffsets(group, TOPIC);
        // A group of another topic (kafidx's dead-letter reader) has no offsets on this one.
        if (committed.every((p) => p.offset === '-1')) continue;
        for (const { partition, offset } of committed) {
          const end = high.get(partition) ?? 0n;
          behind += end - (offset === '-1' ? 0n : BigInt(offset));
        }
      }
      if (groups.length > 0 && behind === 0n) return Date.now() - started;
      if (Date.now() - started > timeoutMs)
        throw new Error(`the consumers were still ${behind} events behind after ${timeoutMs} ms`);
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Fetch rounds and offset commits of the built-in consumers so far, summed over consumers (their
 * /metrics): requests the broker serves whatever CPU the machine's other work leaves.
 */
async function consumerRequests(port: number): Promise<{ fetches: number; commits: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (name: string): number =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`))
      .reduce((total, line) => total + Number(line.split(' ').pop()), 0);
  return { fetches: sum('pushtech_consumer_fetches_total'), commits: sum('pushtech_consumer_offset_commits_total') };
}

/** The root pid of every pipeline process, found below the devstack process. */
function findParts(devstackPid: number, ports: PrivateUpPorts): Record<Part, number> {
  const processes = allProcesses();
  const found: Partial<Record<Part, number>> = {};
  for (const p of processes.values()) {
    if (p.ppid !== devstackPid) continue;
    const command = processCommandLine(p.pid);
    const cwd = processCwd(p.pid) ?? '';
    if (p.comm.startsWith('redis-server')) {
      const port = new RegExp(`\\b${ports.consumersRedis}\\b`).test(command) ? 'consumers-redis' : 'redis';
      found[cwd.endsWith('redis-consumers') ? 'consumers-redis' : port] = p.pid;
    } else if (p.comm === 'java') {
      found.kafka = p.pid;
    } else {
      const service = path.basename(cwd);
      if ((PIPELINE as readonly string[]).includes(service)) found[service as Part] = p.pid;
    }
  }
  const missing = PIPELINE.filter((part) => found[part] === undefined);
  if (missing.length > 0)
    throw new Error(`could not find the process of ${missing.join(', ')} below pid ${devstackPid}`);
  return found as Record<Part, number>;
}

/** One number per pipeline process. */
function perPart(value: (part: Part) => number): Record<Part, number> {
  return Object.fromEntries(PIPELINE.map((part) => [part, value(part)])) as Record<Part, number>;
}

interface Reading {
  readonly at: number;
  readonly parts: Record<Part, number>;
  readonly devstack: number;
  readonly generator: number;
  readonly probe: number;
  /** The broker's JIT compiler threads (part of its CPU). */
  readonly brokerJit: number;
  /** Of each part's CPU, the kernel's (system time). */
  readonly kernel: Record<Part, number>;
  readonly machineBusy: number;
}

function read(devstackPid: number, parts: Record<Part, number>, probePid: number | undefined): Reading {
  const processes = allProcesses();
  const own = (p: ProcessStat | undefined): number => (p ? p.ownSeconds : 0);
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    parts: perPart((part) => treeCpuSeconds(parts[part], processes)),
    devstack: own(processes.get(devstackPid)),
    generator: (cpu.user + cpu.system) / 1e6,
    probe: probePid === undefined ? 0 : treeCpuSeconds(probePid, processes),
    brokerJit: threadCpuSeconds(parts.kafka, JIT_THREADS),
    kernel: perPart((part) => treeSystemSeconds(parts[part], processes)),
    machineBusy: machineTimes().busy,
  };
}

/** What a window cost: CPU seconds per process, and the wall time. */
interface Window {
  readonly seconds: number;
  readonly parts: Record<Part, number>;
  readonly sum: number;
  readonly devstack: number;
  readonly generator: number;
  readonly probe: number;
  readonly brokerJit: number;
  readonly kernel: Record<Part, number>;
  readonly kernelSum: number;
  /** Busy CPU seconds of the whole machine that none of the above used (other work on it). */
  readonly elsewhere: number;
}

function windowBetween(a: Reading, b: Reading): Window {
  const parts = perPart((part) => b.parts[part] - a.parts[part]);
  const sum = PIPELINE.reduce((s, part) => s + parts[part], 0);
  const devstack = b.devstack - a.devstack;
  const generator = b.generator - a.generator;
  const probe = b.probe - a.probe;
  const kernel = perPart((part) => b.kernel[part] - a.kernel[part]);
  return {
    seconds: (b.at - a.at) / 1000,
    parts,
    sum,
    devstack,
    generator,
    probe,
    brokerJit: b.brokerJit - a.brokerJit,
    kernel,
    kernelSum: PIPELINE.reduce((s, part) => s + kernel[part], 0),
    elsewhere: Math.max(0, b.machineBusy - a.machineBusy - sum - devstack - generator - probe),
  };
}

interface RateResult {
  readonly offered: number;
  readonly achieved: number;
  /**
   * Every request answered 2xx, the last answers within 10 % of the run's length after it: the
   * pipeline kept up with the offered rate (events / elapsed alone counts the final answers' wait).
   */
  readonly sustained: boolean;
  readonly acknowledged: number;
  readonly notAcknowledged: number;
  /** CPU µs per acknowledged event. */
  readonly micros: Record<Part, number>;
  readonly sumMicros: number;
  readonly generatorMicros: number;
  readonly probeMicros: number;
  /** Of the broker's µs, those of its JIT compiler threads (compiling the broker's code after start). */
  readonly brokerJitMicros: number;
  /** Of each process's µs (and of the sum), those in the kernel: system calls, loopback TCP, fsync. */
  readonly kernelMicros: Record<Part, number>;
  readonly kernelSumMicros: number;
  readonly devstackMicros: number;
  readonly trackerP50ms: number;
  readonly trackerP99ms: number;
  readonly consumerP50ms: number;
  readonly consumerP99ms: number;
  /** Cores busy with other work on the machine during the window (other helpers, the bench stack). */
  readonly otherCores: number;
  readonly windowSeconds: number;
  /** The built-in consumers' fetch rounds and offset commits per second, all consumers together. */
  readonly consumerFetchesPerSecond: number;
  readonly consumerCommitsPerSecond: number;
}

/**
 * kafkastore's own cost at saturation, from its bench's result in the same results folder (the
 * one stage bench that records its CPU), to set beside its column here; undefined without it.
 * In `npm run bench`, turbo runs kafkastore's bench first (turbo.json), so that the note does not
 * depend on the order turbo happens to pick.
 */
function kafkastoreBenchMicros(): number | undefined {
  try {
    const result = JSON.parse(readFileSync(path.join(resultsDir(), 'kafkastore.json'), 'utf8')) as {
      kafkastoreCpuShareOfOneCore?: unknown;
      kafkastoreEventsPerSecond?: unknown;
    };
    const share = result.kafkastoreCpuShareOfOneCore;
    const rate = result.kafkastoreEventsPerSecond;
    return typeof share === 'number' && typeof rate === 'number' && rate > 0 ? (share * 1e6) / rate : undefined;
  } catch {
    return undefined;
  }
}

const us = (seconds: number, events: number): number => (events > 0 ? (seconds * 1e6) / events : NaN);
const round = (n: number, digits = 0): number => Number(n.toFixed(digits));

/** What the floors cost at one rate: CPU µs per acknowledged request, and the answers' p99. */
interface FloorResult {
  readonly offered: number;
  /** A bare server answering 204 at once. */
  readonly answerMicros: number;
  readonly answerP99ms: number;
  /** A bare server answering once Redis confirmed the push: the server, and its Redis. */
  readonly durableMicros: number;
  readonly durableRedisMicros: number;
  readonly durableP99ms: number;
  /** The broker alone with one producer and one consumer group (broker-floor.ts), per record. */
  readonly brokerMicros: number;
  readonly brokerJitMicros: number;
}

/** The floors together: a durable answer and the broker with one producer and one consumer. */
const floorSum = (f: FloorResult): number => f.durableMicros + f.durableRedisMicros + f.brokerMicros;

/**
 * One floor at every rate: a warm-up at the rate, then FLOOR_SECONDS whose CPU (each pid with its
 * children) is divided by the requests acknowledged.
 */
async function floorAtRates(
  target: string,
  pids: readonly number[],
): Promise<{ offered: number; micros: number[]; p99ms: number }[]> {
  const cpu = (): number[] => {
    const processes = allProcesses();
    return pids.map((pid) => treeCpuSeconds(pid, processes));
  };
  const out: { offered: number; micros: number[]; p99ms: number }[] = [];
  for (const [i, rate] of RATES.entries()) {
    await runLoad({ target, rate, durationSeconds: WARMUP_SECONDS, connections: CONNECTIONS, seed: 500 + 10 * i });
    const before = cpu();
    const result = await runLoad({
      target,
      rate,
      durationSeconds: FLOOR_SECONDS,
      connections: CONNECTIONS,
      seed: 501 + 10 * i,
    });
    const after = cpu();
    if (result.refused + result.failed > 0) {
      throw new Error(`floor ${target} at ${rate}/s: ${result.refused + result.failed} requests not answered 2xx`);
    }
    out.push({
      offered: rate,
      micros: pids.map((_, k) => round(us((after[k] ?? 0) - (before[k] ?? 0), result.acknowledged))),
      p99ms: round(result.latency.percentile(99), 1),
    });
  }
  return out;
}

/**
 * The floors under the tracker and its buffer Redis, measured before the pipeline starts (nothing
 * else of this bench running), with the same load generator, connections and rates:
 * - an answer: a bare uWebSockets.js server answering 204 at once (services/tracker/bench/
 *   bare-uws.ts), the least an HTTP answer costs on this machine;
 * - a durable answer: a bare server that answers only once Redis confirmed an LPUSH of a
 *   hit-sized entry, batched per TRACKER_PUSH_LINGER_MS as the tracker does, to a Redis with the
 *   buffer's settings (AOF, fsync before every answer) (bare-uws-redis.ts). What remains of the
 *   tracker's and the buffer's cost above it is the tracker's own work and its process layout.
 */
async function measureFloors(): Promise<Omit<FloorResult, 'brokerMicros' | 'brokerJitMicros'>[]> {
  const redisDir = trackDir(mkdtempSync(path.join(os.tmpdir(), 'pushtech-floor-redis-')));
  const redis = await startRedisServer({ port: await freePort(), dir: redisDir });
  const untrack = trackPid(redis.process.pid);
  /** One bare server of services/tracker/bench at every rate; `withPids` adds what it writes to. */
  const floorOf = async (script: string, env: Record<string, string>, withPids: readonly number[] = []) => {
    const port = await freePort();
    const server = await startService(
      script,
      serviceArgs('tracker', script),
      { ...env, PORT: String(port) },
      port,
      '/',
    );
    try {
      return await floorAtRates(`http://127.0.0.1:${port}`, [server.child.pid ?? 0, ...withPids]);
    } finally {
      await stopService(server);
    }
  };
  try {
    const answers = await floorOf('bare-uws.ts', {});
    const durables = await floorOf(
      'bare-uws-redis.ts',
      { REDIS_URL: redis.url, PUSH_LINGER_MS: String(PUSH_LINGER_MS) },
      [redis.process.pid],
    );
    return answers.map((a, i) => {
      const d = durables[i];
      return {
        offered: a.offered,
        answerMicros: a.micros[0] ?? NaN,
        answerP99ms: a.p99ms,
        durableMicros: d?.micros[0] ?? NaN,
        durableRedisMicros: d?.micros[1] ?? NaN,
        durableP99ms: d?.p99ms ?? NaN,
      };
    });
  } finally {
    await redis.stop();
    untrack();
    rmSync(redisDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  let floors: FloorResult[] = [];
  let brokerFloor: BrokerFloors | undefined;
  if (FLOOR_SECONDS > 0) {
    log('floors first, while nothing else of this bench runs: a bare answer, a durable answer, the broker');
    const answers = await measureFloors();
    brokerFloor = await measureBrokerFloor({
      rates: RATES,
      warmupSeconds: WARMUP_SECONDS,
      seconds: FLOOR_SECONDS,
      brokerWarmup: { seconds: PIPELINE_WARMUP_SECONDS, rate: PIPELINE_WARMUP_RATE },
      idleSeconds: IDLE_SECONDS,
      partitions: PARTITIONS,
      recordBytes: RECORD_BYTES,
      lingerMs: KAFKASTORE_LINGER_MS,
      fetchLingerMs: FETCH_LINGER_MS,
      commitIntervalMs: COMMIT_INTERVAL_MS,
      heapMb: BROKER_HEAP_MB,
      jitThreads: JIT_THREADS,
      log,
    });
    floors = answers.map((a) => {
      const b = brokerFloor?.rates.find((f) => f.offered === a.offered);
      return { ...a, brokerMicros: b?.brokerMicros ?? NaN, brokerJitMicros: b?.brokerJitMicros ?? NaN };
    });
    log(
      `floor idle: the broker alone, no client, ${brokerFloor.idlePercent} % of a core (its JIT ${brokerFloor.idleJitPercent})`,
    );
    for (const f of floors) {
      log(
        `floor at ${f.offered}/s: bare answer ${f.answerMicros} µs/request (p99 ${f.answerP99ms} ms); durable answer ${f.durableMicros} + its Redis ${f.durableRedisMicros} µs/request (p99 ${f.durableP99ms} ms); the broker with one producer and one consumer ${f.brokerMicros} µs/record (its JIT ${f.brokerJitMicros}); together ${floorSum(f)} µs/event`,
      );
    }
  }
  log('starting the pipeline as npm start does (devstack up) on private ports and state');
  const pipeline = await startPrivateUp({
    // The pipeline's own cost: the local Prometheus that npm start adds watches it, and is not
    // part of it (0.2-0.3 % of a core idle: DEVSTACK_PROMETHEUS in docs/configuration.md).
    DEVSTACK_PROMETHEUS: 'false',
    // The logs as npm start writes them (.env), since they cost CPU too.
    LOG_LEVEL: undefined,
    LOG_FORMAT: undefined,
    KAFKA_CLIENT,
  });
  track(pipeline.child);
  trackDir(pipeline.root);
  const { ports } = pipeline;
  log(`state in ${pipeline.root}`);
  const devstackPid = pipeline.child.pid ?? 0;
  const target = `http://127.0.0.1:${ports.tracker}`;
  let probe: LatencyConsumer | undefined;
  try {
    const deadline = Date.now() + 240_000;
    const opsPorts = [ports.tracker, ports.kafkastore, ports.consumers, ports.kafidxOps];
    for (;;) {
      if (pipeline.child.exitCode !== null) throw new Error(`devstack up exited:\n${pipeline.tail()}`);
      if ((await Promise.all(opsPorts.map(readyz))).every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`the pipeline was not ready within 240 s:\n${pipeline.tail()}`);
      await sleep(500);
    }
    const parts = findParts(devstackPid, ports);
    log(`up: ${PIPELINE.map((part) => `${part} ${parts[part]}`).join(', ')}`);

    let acknowledgedTotal = 0;
    if (PIPELINE_WARMUP_SECONDS > 0) {
      const before = read(devstackPid, parts, undefined);
      const warm = await runLoad({
        target,
        rate: PIPELINE_WARMUP_RATE,
        durationSeconds: PIPELINE_WARMUP_SECONDS,
        connections: CONNECTIONS,
        seed: 7,
      });
      acknowledgedTotal += warm.acknowledged;
      const cost = windowBetween(before, read(devstackPid, parts, undefined));
      log(
        `warm-up ${PIPELINE_WARMUP_SECONDS} s at ${PIPELINE_WARMUP_RATE}/s (not counted): ${round(us(cost.sum, warm.acknowledged))} µs/event (${PIPELINE.map((p) => `${p} ${round(us(cost.parts[p], warm.acknowledged))}`).join(', ')})`,
      );
    }
    log(`consumers caught up after ${await consumersCaughtUp(`127.0.0.1:${ports.kafka}`, 300_000)} ms`);
    // Idle: settle first (group joins, the last events of the warm-up), then nothing but the
    // stack's own timers.
    await sleep(10_000);
    const idleRequests = await consumerRequests(ports.consumers);
    const idleStart = read(devstackPid, parts, undefined);
    await sleep(IDLE_SECONDS * 1000);
    const idle = windowBetween(idleStart, read(devstackPid, parts, undefined));
    const idleRequestsEnd = await consumerRequests(ports.consumers);
    const idleFetchesPerSecond = round((idleRequestsEnd.fetches - idleRequests.fetches) / idle.seconds, 1);
    log(`idle: the built-in consumers fetch ${idleFetchesPerSecond} times a second in all`);
    const idlePercent = (seconds: number): number => (seconds / idle.seconds) * 100;
    log(
      `idle ${idle.seconds.toFixed(0)} s: pipeline ${idlePercent(idle.sum).toFixed(1)} % of a core (${PIPELINE.map((p) => `${p} ${idlePercent(idle.parts[p]).toFixed(1)}`).join(', ')}), other work on the machine ${idlePercent(idle.elsewhere).toFixed(0)} %`,
    );

    probe = await LatencyConsumer.start(`127.0.0.1:${ports.kafka}`, TOPIC, log);
    const live = probe;
    // The probe reads the topic from its beginning: anything sent before it counts too.
    const step = async (rate: number, seconds: number, seed: number): Promise<RateResult> => {
      // Warm-up at the rate (batch sizes and connection pools settle); not counted.
      const warm = await runLoad({ target, rate, durationSeconds: WARMUP_SECONDS, connections: CONNECTIONS, seed });
      acknowledgedTotal += warm.acknowledged;
      await live.caughtUp(acknowledgedTotal, 60_000);
      live.reset();
      const requestsBefore = await consumerRequests(ports.consumers);
      const before = read(devstackPid, parts, live.pid);
      const result = await runLoad({
        target,
        rate,
        durationSeconds: seconds,
        connections: CONNECTIONS,
        seed: seed + 1,
      });
      acknowledgedTotal += result.acknowledged;
      // The window closes once the events are through the pipeline, so their downstream cost is in it.
      const drainMs = await live.caughtUp(acknowledgedTotal, 120_000);
      const window = windowBetween(before, read(devstackPid, parts, live.pid));
      const requestsAfter = await consumerRequests(ports.consumers);
      const report = await live.report();
      const events = result.acknowledged;
      const micros = perPart((p) => round(us(window.parts[p], events)));
      const r: RateResult = {
        offered: rate,
        achieved: Math.round(events / result.elapsedSeconds),
        sustained: result.refused + result.failed === 0 && result.elapsedSeconds <= seconds * 1.1,
        acknowledged: events,
        notAcknowledged: result.refused + result.failed,
        micros,
        sumMicros: round(us(window.sum, events)),
        generatorMicros: round(us(window.generator, events)),
        probeMicros: round(us(window.probe, events)),
        brokerJitMicros: round(us(window.brokerJit, events)),
        kernelMicros: perPart((p) => round(us(window.kernel[p], events))),
        kernelSumMicros: round(us(window.kernelSum, events)),
        devstackMicros: round(us(window.devstack, events)),
        trackerP50ms: round(result.latency.percentile(50), 1),
        trackerP99ms: round(result.latency.percentile(99), 1),
        consumerP50ms: round(report.consume.p50, 1),
        consumerP99ms: round(report.consume.p99, 1),
        otherCores: round(window.elsewhere / window.seconds, 2),
        windowSeconds: round(window.seconds, 1),
        consumerFetchesPerSecond: round((requestsAfter.fetches - requestsBefore.fetches) / window.seconds, 1),
        consumerCommitsPerSecond: round((requestsAfter.commits - requestsBefore.commits) / window.seconds, 1),
      };
      log(
        `${rate}/s: ${r.achieved}/s acknowledged, pipeline ${r.sumMicros} µs/event (${PIPELINE.map((p) => `${p} ${micros[p]}`).join(', ')}; the broker's JIT ${r.brokerJitMicros}; in the kernel ${r.kernelSumMicros}: ${PIPELINE.map((p) => `${p} ${r.kernelMicros[p]}`).join(', ')}), generator ${r.generatorMicros} µs; tracker p50 ${r.trackerP50ms} p99 ${r.trackerP99ms} ms; to consumer p99 ${r.consumerP99ms} ms; consumers fetch ${r.consumerFetchesPerSecond}/s, commit ${r.consumerCommitsPerSecond}/s; drained in ${Number.isNaN(drainMs) ? 'more than 120 s' : `${drainMs} ms`}; other work ${r.otherCores} cores`,
      );
      return r;
    };

    const rates: RateResult[] = [];
    for (const [i, rate] of RATES.entries()) rates.push(await step(rate, SECONDS, 100 + 10 * i));
    const saturation = await step(SATURATION_RATE, SATURATION_SECONDS, 900);
    const final = await live.report();
    const missing = Math.max(0, acknowledgedTotal - final.consumed);

    const at = (rate: number): RateResult | undefined => rates.find((r) => r.offered === rate);
    const goalCpu = (rate: number, max: number): { goal: string; value: string; met: boolean } => {
      const r = at(rate);
      return {
        goal: `CPU per event, all pipeline processes, at ${rate} events/s <= ${max} µs`,
        value: r ? `${r.sumMicros} µs` : 'not measured',
        met: r !== undefined && r.sumMicros <= max,
      };
    };
    const goalLatency = (
      rate: number,
      what: string,
      pick: (r: RateResult) => number,
      max: number,
    ): { goal: string; value: string; met: boolean } => {
      const r = at(rate);
      return {
        goal: `${what} at ${rate} events/s <= ${max} ms`,
        value: r ? `${pick(r)} ms` : 'not measured',
        met: r !== undefined && pick(r) <= max,
      };
    };
    const idleCorePercent = round(idlePercent(idle.sum), 1);
    const kafkastoreMicros = kafkastoreBenchMicros();
    const kafkastoreAlone = kafkastoreMicros === undefined ? undefined : round(kafkastoreMicros, 1);
    const goals = [
      goalCpu(1000, 150),
      goalCpu(3000, 100),
      goalLatency(3000, 'tracker answer p99', (r) => r.trackerP99ms, 10),
      goalLatency(1000, 'receive -> consumer p99', (r) => r.consumerP99ms, 150),
      goalLatency(3000, 'receive -> consumer p99', (r) => r.consumerP99ms, 150),
      { goal: 'idle stack <= 3 % of a core in all', value: `${idleCorePercent} %`, met: idleCorePercent <= 3 },
      {
        goal: 'every acknowledged event reaches the probe',
        value: `${final.consumed} of ${acknowledgedTotal}`,
        met: missing === 0,
      },
    ];

    // The issue's table: one row per process, one column per rate, the sum, the rest apart.
    const columns = [...rates.map((r) => `${r.offered}/s`), `saturation (${saturation.achieved}/s)`];
    const all = [...rates, saturation];
    // The floors beside the tracker's and its buffer's rows (none at saturation: not measured there).
    const floorAt = (rate: number): FloorResult | undefined => floors.find((f) => f.offered === rate);
    const floorCells = (pick: (f: FloorResult) => string): string[] => [
      ...rates.map((r) => {
        const f = floorAt(r.offered);
        return f ? pick(f) : '-';
      }),
      '-',
    ];
    const floorRows =
      floors.length === 0
        ? []
        : [
            [
              'tracker + Redis (buffer), for the floors below',
              round(idlePercent(idle.parts.tracker + idle.parts.redis), 1).toString(),
              ...all.map((r) => String(r.micros.tracker + r.micros.redis)),
            ],
            [
              'floor: a bare uWS server answering 204 at once (apart)',
              '-',
              ...floorCells((f) => String(f.answerMicros)),
            ],
            [
              `floor: a bare uWS server answering after an LPUSH per ${PUSH_LINGER_MS} ms and its Redis's fsync: server + Redis (apart)`,
              '-',
              ...floorCells(
                (f) => `${f.durableMicros + f.durableRedisMicros} (${f.durableMicros} + ${f.durableRedisMicros})`,
              ),
            ],
            [
              "floor: the broker alone, Kafka's own clients: one producer, one consumer group (apart; of it, its JIT)",
              brokerFloor ? `${brokerFloor.idlePercent} (${brokerFloor.idleJitPercent})` : '-',
              ...floorCells((f) => `${f.brokerMicros} (${f.brokerJitMicros})`),
            ],
            [
              '**floors together: durable answer + broker** (the least any such pipeline costs here)',
              '-',
              ...floorCells((f) => `**${floorSum(f)}**`),
            ],
            [
              'floors: answer p99, bare / durable (ms)',
              '-',
              ...floorCells((f) => `${f.answerP99ms} / ${f.durableP99ms}`),
            ],
          ];
    const table = [
      ['process (CPU µs per acknowledged event)', 'idle (% of a core)', ...columns],
      [
        'acknowledged events/s (sustained?)',
        '-',
        ...all.map((r) => `${r.achieved}${r.sustained ? '' : ' (not sustained)'}`),
      ],
      ...PIPELINE.flatMap((p) => {
        const row = [LABELS[p], idlePercent(idle.parts[p]).toFixed(1), ...all.map((r) => String(r.micros[p]))];
        if (p !== 'kafka') return [row];
        // Compiling the broker's code: one-off work of its first minutes, inside its own row.
        const jit = [
          "  of it, the broker's JIT compiler threads",
          idlePercent(idle.brokerJit).toFixed(1),
          ...all.map((r) => String(r.brokerJitMicros)),
        ];
        return [row, jit];
      }),
      ['**sum, pipeline processes**', `**${idleCorePercent}**`, ...all.map((r) => `**${r.sumMicros}**`)],
      [
        "sum less the broker's JIT compiling (as a broker that has run for long)",
        round(idlePercent(idle.sum - idle.brokerJit), 1).toString(),
        ...all.map((r) => String(round(r.sumMicros - r.brokerJitMicros))),
      ],
      [
        'of the sum, in the kernel (system calls, loopback TCP, fsync)',
        round(idlePercent(idle.kernelSum), 1).toString(),
        ...all.map((r) => String(r.kernelSumMicros)),
      ],
      ...floorRows,
      ['load generator (apart)', '-', ...all.map((r) => String(r.generatorMicros))],
      ['latency probe, a consumer of its own (apart)', '-', ...all.map((r) => String(r.probeMicros))],
      [
        'devstack up process, its log lines (apart)',
        idlePercent(idle.devstack).toFixed(1),
        ...all.map((r) => String(r.devstackMicros)),
      ],
      [
        "built-in consumers' fetches / commits per second, all together",
        String(idleFetchesPerSecond),
        ...all.map((r) => `${r.consumerFetchesPerSecond} / ${r.consumerCommitsPerSecond}`),
      ],
      ['tracker answer p50 / p99 (ms)', '-', ...all.map((r) => `${r.trackerP50ms} / ${r.trackerP99ms}`)],
      ['receive -> consumer p50 / p99 (ms)', '-', ...all.map((r) => `${r.consumerP50ms} / ${r.consumerP99ms}`)],
      [
        'other work on the machine (cores)',
        (idle.elsewhere / idle.seconds).toFixed(2),
        ...all.map((r) => r.otherCores.toFixed(2)),
      ],
    ];
    const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length))) ?? [];
    console.log('');
    for (const row of table) console.log(row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | '));
    console.log('');
    for (const g of goals) console.log(`${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${g.value}`);

    const rateSeries = (pick: (r: RateResult) => number): [number, number][] =>
      rates.map((r): [number, number] => [r.offered, pick(r)]).filter(([, y]) => Number.isFinite(y));
    const results = {
      date: new Date().toISOString(),
      machine: machineInfo(),
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      idleSeconds: IDLE_SECONDS,
      pipelineWarmup: { seconds: PIPELINE_WARMUP_SECONDS, rate: PIPELINE_WARMUP_RATE },
      kafkaClient: KAFKA_CLIENT ?? null,
      connections: CONNECTIONS,
      idle: {
        percentOfOneCore: perPart((p) => round(idlePercent(idle.parts[p]), 2)),
        sumPercentOfOneCore: idleCorePercent,
        devstackPercentOfOneCore: round(idlePercent(idle.devstack), 2),
        consumerFetchesPerSecond: idleFetchesPerSecond,
        otherCores: round(idle.elsewhere / idle.seconds, 2),
      },
      rates,
      saturation,
      floors,
      brokerIdleFloor: brokerFloor
        ? { percentOfOneCore: brokerFloor.idlePercent, jitPercentOfOneCore: brokerFloor.idleJitPercent }
        : null,
      floorSeconds: FLOOR_SECONDS,
      kafkastoreBenchMicrosPerEvent: kafkastoreAlone ?? null,
      acknowledged: acknowledgedTotal,
      consumed: final.consumed,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      summary: {
        bench: 'realistic-load',
        title: 'Whole pipeline at the rates users run: CPU per event (npm start layout)',
        rows: [
          {
            name: `at saturation (${saturation.achieved}/s): the stages' own cost with their largest batches`,
            metric: 'µs CPU per event, all pipeline processes',
            value: saturation.sumMicros,
            baseline: true,
          },
          ...rates.map((r) => ({
            name: `at ${r.offered} events/s`,
            metric: 'µs CPU per event, all pipeline processes',
            value: r.sumMicros,
          })),
          ...floors.map((f) => ({
            name: `floors at ${f.offered} events/s: a durable answer, and the broker with one producer and one consumer`,
            metric: 'µs CPU per event, floors (the least such a pipeline costs)',
            value: floorSum(f),
          })),
          { name: 'idle stack, no traffic', metric: '% of one core', value: idleCorePercent },
          {
            name: 'floor: the broker alone idle, no client',
            metric: '% of one core',
            value: brokerFloor?.idlePercent ?? NaN,
          },
          ...rates.map((r) => ({ name: `at ${r.offered}/s`, metric: 'ms tracker answer p99', value: r.trackerP99ms })),
          ...rates.map((r) => ({
            name: `at ${r.offered}/s`,
            metric: 'ms receive -> consumer p99',
            value: r.consumerP99ms,
          })),
        ].filter((row) => Number.isFinite(row.value)),
        goals,
        tables: [{ title: 'CPU per acknowledged event, per process', rows: table }],
        notes: [
          `npm start's layout (devstack up, .env settings${KAFKA_CLIENT === undefined ? '' : `, KAFKA_CLIENT=${KAFKA_CLIENT}`}) on private ports; first ${PIPELINE_WARMUP_SECONDS} s at ${PIPELINE_WARMUP_RATE}/s not counted (start-up JIT), then idle measured for ${IDLE_SECONDS} s after a 10 s settle, then ${WARMUP_SECONDS} s warm-up and ${SECONDS} s at each rate, the window closing once the events reached the probe`,
          `the load generator keeps at most ${CONNECTIONS} connections, one request at a time on each (64 until 2026-12-06: too few for the answers slowed by the buffer's fsync stalls; see packages/bench/src/load-connections.ts)`,
          'CPU from /proc/<pid>/stat (utime + stime), each process with its children; the load generator, the latency probe and the devstack process are not in the sum',
          "the kernel's part is stime: the processes' system calls and what the kernel does in their time (a loopback send delivers the segment to its receiver, an fsync writes the disk); no change in the processes' own code makes it smaller, only fewer or larger system calls",
          `the probe is one more consumer group on the topic (as a user's own consumer would be): the broker's share includes serving it`,
          "of the broker's CPU, its JIT compiler threads (the JVM's C1 and C2 threads, by name in /proc/<pid>/task) apart: they compile the broker's code during its first minutes, which a broker that has run for long no longer does; the goals count them",
          `saturation: ${SATURATION_RATE}/s offered for ${SATURATION_SECONDS} s; the baseline is the per-event cost of the same processes there`,
          ...(floors.length === 0
            ? []
            : [
                `floors, measured before the pipeline started, ${WARMUP_SECONDS} s warm-up and ${FLOOR_SECONDS} s at each rate, the same load generator and connections: a bare uWebSockets.js server answering 204 at once (the least an HTTP answer costs here), and one answering only once Redis confirmed an LPUSH of a hit-sized entry per ${PUSH_LINGER_MS} ms, to a Redis with the buffer's settings (AOF, fsync before every answer): the least a durable answer costs. The tracker's and its buffer's cost above the durable floor is the tracker's own work (parsing, ids, client IPs, metrics, lease) and its layout (a supervisor and workers)`,
                `the broker's floor: a broker started as the devstack starts it (same version, properties, JVM settings, ${BROKER_HEAP_MB} MB heap, ${PARTITIONS} partitions), alone, warmed ${PIPELINE_WARMUP_SECONDS} s at ${PIPELINE_WARMUP_RATE}/s as the pipeline's broker is, idle ${IDLE_SECONDS} s with no client 10 s after that (as the pipeline's idle is measured), then at each rate Kafka's own Java clients: ProducerPerformance (acks=all, ${KAFKASTORE_LINGER_MS} ms linger, ${RECORD_BYTES}-byte records over every partition) and one ConsoleConsumer group fetching at most every ${FETCH_LINGER_MS} ms and committing every ${COMMIT_INTERVAL_MS} ms; its CPU per record appended in the window (the clients' CPU apart, not counted). The floors together are the least a pipeline that answers durably, writes each event to Kafka and reads it once costs on this machine, before any enrichment or consumer work`,
              ]),
          ...(kafkastoreAlone === undefined
            ? []
            : [
                `kafkastore's own bench (kafkastore.json of this results folder, Redis -> Kafka at saturation in one process): ${kafkastoreAlone} µs per event`,
              ]),
          `the machine is shared: "other work" is busy CPU no process of this bench used, in cores (the bench run's own Redis + Kafka, other jobs)`,
        ],
        series: [
          {
            title: 'CPU per event against rate',
            x: 'events/s offered',
            y: 'µs CPU per acknowledged event',
            lines: [
              { name: 'sum of pipeline processes', points: rateSeries((r) => r.sumMicros) },
              ...PIPELINE.map((p) => ({ name: LABELS[p], points: rateSeries((r) => r.micros[p]) })),
              { name: 'sum at saturation (baseline)', points: rateSeries(() => saturation.sumMicros) },
              {
                name: 'floors together: a durable answer + the broker with one producer and one consumer',
                points: floors
                  .map((f): [number, number] => [f.offered, floorSum(f)])
                  .filter(([, y]) => Number.isFinite(y)),
              },
            ],
          },
          {
            title: 'Latency against rate (npm start layout)',
            x: 'events/s offered',
            y: 'ms',
            lines: [
              { name: 'tracker answer p99', points: rateSeries((r) => r.trackerP99ms) },
              { name: 'receive -> consumer p99', points: rateSeries((r) => r.consumerP99ms) },
            ],
          },
        ],
      },
    };
    log(`results in ${writeResult('realistic-load', results)} (${results.durationSeconds} s)`);
    if (missing > 0) throw new Error(`${missing} acknowledged events never reached the probe`);
  } finally {
    await probe?.stop();
    if (pipeline.child.exitCode === null) {
      const exited = new Promise((r) => pipeline.child.once('exit', r));
      pipeline.child.kill('SIGTERM');
      const timer = setTimeout(() => pipeline.child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    await pipeline.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
