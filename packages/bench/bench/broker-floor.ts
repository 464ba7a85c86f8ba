/**
 * The floor under the Kafka broker at a steady rate: a broker as the devstack starts it (the
 * pinned version, the same server.properties and JVM settings, `npm start`'s partitions), alone
 * on private ports, served by Kafka's own Java clients with the request pattern the pipeline asks
 * of it at the least:
 * - one producer at the rate (ProducerPerformance: acks=all, kafkastore's linger, records of the
 *   pipeline's size spread over every partition, as kafkastore's device keys spread them);
 * - one consumer group (ConsoleConsumer) fetching as one built-in consumer does: at most every
 *   CONSUMER_FETCH_LINGER_MS (a fetch waits that long, or for that long's bytes), committing every
 *   CONSUMER_COMMIT_INTERVAL_MS.
 * The broker's CPU per record in a steady window is what any pipeline that writes the events to
 * Kafka and reads them once pays the broker at that rate; its JIT compiler threads are shown apart
 * (as the pipeline's broker's), the clients' CPU is not counted (as the load generator's is not).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, ensureKafkaJars, freePort, requireCommand, startKafkaBroker } from '@pushtech/devstack';
import { createAdmin, silentLogger, type KafkaAdmin } from '@pushtech/runtime';
import { allProcesses, threadCpuSeconds, treeCpuSeconds } from '../src/index.js';
import { sleep, track, trackDir, trackPid } from './latency-probe.js';

export interface BrokerFloorOptions {
  readonly rates: readonly number[];
  /** Load at the rate before its window (the clients join, batches settle). */
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Load before anything is measured, as the pipeline's broker gets (its JIT's first minute). */
  readonly brokerWarmup: { readonly seconds: number; readonly rate: number };
  /** The broker idle after its warm-up (no client connected), as the pipeline's idle is measured. */
  readonly idleSeconds: number;
  readonly partitions: number;
  readonly recordBytes: number;
  readonly lingerMs: number;
  readonly fetchLingerMs: number;
  readonly commitIntervalMs: number;
  readonly heapMb: number;
  /** The JVM's JIT compiler threads by name. */
  readonly jitThreads: readonly string[];
  readonly log: (line: string) => void;
}

export interface BrokerFloors {
  /** % of a core with no client at all, and of it its JIT threads'; NaN when not measured. */
  readonly idlePercent: number;
  readonly idleJitPercent: number;
  readonly rates: readonly BrokerFloor[];
}

export interface BrokerFloor {
  readonly offered: number;
  /** Records appended to the topic during the window. */
  readonly records: number;
  /** The broker's CPU µs per record, and of it its JIT compiler threads'. */
  readonly brokerMicros: number;
  readonly brokerJitMicros: number;
}

const TOPIC = 'floor';

/** The records on the topic so far (the sum of its partitions' ends). */
async function topicEnd(admin: KafkaAdmin): Promise<number> {
  return (await admin.topicOffsets(TOPIC)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** The pipeline's idle window starts 10 s after its warm-up: so does this one. */
const IDLE_SETTLE_MS = 10_000;

export async function measureBrokerFloor(options: BrokerFloorOptions): Promise<BrokerFloors> {
  const { libsDir } = await ensureKafkaJars({ cacheRoot: cacheDir(process.env), log: options.log });
  const java = requireCommand('java');
  const dir = trackDir(mkdtempSync(path.join(os.tmpdir(), 'pushtech-floor-kafka-')));
  const broker = await startKafkaBroker({
    libsDir,
    dir,
    port: await freePort(),
    controllerPort: await freePort(),
    heapMb: options.heapMb,
  });
  const untrack = trackPid(broker.process.pid);
  const admin = createAdmin({ brokers: [broker.brokers], clientId: 'realistic-load-floor' }, silentLogger());
  /** A Java client of Kafka's tools, started quickly (C1 alone, serial GC), its output dropped. */
  const client = (mainClass: string, args: readonly string[]): ChildProcess =>
    track(
      spawn(
        java,
        ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', `${libsDir}/*`, mainClass, ...args],
        { stdio: 'ignore' },
      ),
    );
  /** One producer at the rate and one consumer group, for as long as `seconds` and then some. */
  const load = (rate: number, seconds: number, group: string): ChildProcess[] => [
    client('org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server',
      broker.brokers,
      '--topic',
      TOPIC,
      '--group',
      group,
      '--consumer-property',
      `fetch.max.wait.ms=${options.fetchLingerMs}`,
      '--consumer-property',
      `fetch.min.bytes=${Math.max(1, Math.round((rate * options.recordBytes * options.fetchLingerMs) / 1000))}`,
      '--consumer-property',
      `auto.commit.interval.ms=${options.commitIntervalMs}`,
    ]),
    client('org.apache.kafka.tools.ProducerPerformance', [
      '--topic',
      TOPIC,
      '--num-records',
      String(Math.ceil(rate * (seconds + 60))),
      '--record-size',
      String(options.recordBytes),
      '--throughput',
      String(rate),
      '--producer-props',
      `bootstrap.servers=${broker.brokers}`,
      'acks=all',
      `linger.ms=${options.lingerMs}`,
      // One batch per partition per linger, as kafkastore's device keys spread a take.
      'partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner',
    ]),
  ];
  const stop = async (children: readonly ChildProcess[]): Promise<void> => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  };
  const cpu = (): { broker: number; jit: number } => ({
    broker: treeCpuSeconds(broker.process.pid, allProcesses()),
    jit: threadCpuSeconds(broker.process.pid, options.jitThreads),
  });
  try {
    await admin.connect();
    await admin.ensureTopics([{ topic: TOPIC, partitions: options.partitions, replicationFactor: 1 }]);
    const { seconds: warmSeconds, rate: warmRate } = options.brokerWarmup;
    if (warmSeconds > 0) {
      const warm = load(warmRate, warmSeconds, 'floor-warm-up');
      await sleep(warmSeconds * 1000);
      await stop(warm);
    }
    let idlePercent = NaN;
    let idleJitPercent = NaN;
    if (options.idleSeconds > 0) {
      // The admin client stays connected (its metadata refresh is minutes apart): no client works.
      await sleep(IDLE_SETTLE_MS);
      const before = cpu();
      await sleep(options.idleSeconds * 1000);
      const after = cpu();
      idlePercent = Number((((after.broker - before.broker) / options.idleSeconds) * 100).toFixed(1));
      idleJitPercent = Number((((after.jit - before.jit) / options.idleSeconds) * 100).toFixed(1));
    }
    const out: BrokerFloor[] = [];
    for (const rate of options.rates) {
      const children = load(rate, options.warmupSeconds + options.seconds, `floor-${rate}`);
      try {
        // The JVMs start (about 2 s here) and the consumer joins its group before the warm-up counts.
        await sleep((3 + options.warmupSeconds) * 1000);
        const before = cpu();
        const start = await topicEnd(admin);
        await sleep(options.seconds * 1000);
        const after = cpu();
        const records = (await topicEnd(admin)) - start;
        if (records < rate * options.seconds * 0.9) {
          throw new Error(`broker floor at ${rate}/s: only ${records} records in ${options.seconds} s`);
        }
        out.push({
          offered: rate,
          records,
          brokerMicros: Math.round(((after.broker - before.broker) * 1e6) / records),
          brokerJitMicros: Math.round(((after.jit - before.jit) * 1e6) / records),
        });
      } finally {
        await stop(children);
      }
    }
    return { idlePercent, idleJitPercent, rates: out };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
    untrack();
    rmSync(dir, { recursive: true, force: true });
  }
}
