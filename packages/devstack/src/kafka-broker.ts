import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createAdmin, silentLogger } from '@pushtech/runtime';
import { lastLine, runToEnd, startProcess, waitFor, type ManagedProcess } from './child-process.js';
import { requireCommand } from './commands.js';
import { tail } from './redis-server.js';

export interface KafkaBroker {
  /** Bootstrap address, `127.0.0.1:<port>`. */
  readonly brokers: string;
  readonly port: number;
  /** Its node id: 1 for a single node. */
  readonly nodeId: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface KafkaBrokerOptions {
  libsDir: string;
  /** Holds server.properties, the log dirs and kafka.log. Reused across runs when it persists. */
  dir: string;
  port: number;
  controllerPort: number;
  heapMb?: number;
  /** This node's id and every node of its cluster; a single node (id 1) when left out. */
  cluster?: KafkaClusterLayout;
  /** Formats a fresh data folder with this cluster id (every node of a cluster shares one). */
  clusterId?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  pathVar?: string;
}

/** Where a node sits in its cluster: its id and every voter (node id and controller port). */
export interface KafkaClusterLayout {
  readonly nodeId: number;
  readonly voters: readonly { readonly nodeId: number; readonly controllerPort: number }[];
}

/**
 * Replication a cluster of `nodes` can give: factor min(3, nodes), and with three or more nodes
 * `min.insync.replicas` 2, so an acknowledged write is on two brokers and one may die.
 */
export function replicationFor(nodes: number): { factor: number; minInsync: number } {
  return { factor: Math.min(3, nodes), minInsync: nodes >= 3 ? 2 : 1 };
}

/**
 * A KRaft broker+controller on loopback, sized and tuned for one developer machine: a single
 * node, or one combined node of a small cluster (`cluster`).
 */
export function serverProperties(options: {
  port: number;
  controllerPort: number;
  logDir: string;
  cluster?: KafkaClusterLayout;
}): string {
  const cluster = options.cluster ?? { nodeId: 1, voters: [{ nodeId: 1, controllerPort: options.controllerPort }] };
  const { factor, minInsync } = replicationFor(cluster.voters.length);
  const lines = {
    'process.roles': 'broker,controller',
    'node.id': String(cluster.nodeId),
    'controller.quorum.voters': cluster.voters.map((v) => `${v.nodeId}@127.0.0.1:${v.controllerPort}`).join(','),
    listeners: `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': options.logDir,
    'num.partitions': '1',
    // A topic created without a replication factor (every admin here asks for -1) gets the
    // cluster's, and the internal topics too.
    'default.replication.factor': String(factor),
    'min.insync.replicas': String(minInsync),
    'offsets.topic.replication.factor': String(factor),
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': String(factor),
    'transaction.state.log.min.isr': String(minInsync),
    'share.coordinator.state.topic.replication.factor': String(factor),
    'share.coordinator.state.topic.min.isr': String(minInsync),
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'delete.topic.enable': 'true',
    'log.retention.hours': '24',
    'log.segment.bytes': String(64 * 1024 * 1024),
    // The controller appends a no-op record to the metadata log every 500 ms by default, so that
    // brokers see it alive; one node has nobody to tell. 5 s: an idle broker 4.4 -> 2.5 % of a core.
    // In a cluster, fencing goes by broker heartbeats, not by these records: 5 s there too.
    'metadata.max.idle.interval.ms': '5000',
  };
  return `${Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function javaArgs(options: KafkaBrokerOptions, mainClass: string, heapMb: number): string[] {
  // A one-shot tool (the storage format) starts faster with the C1 compiler and the serial GC;
  // three of them at once on two cores matter for a cluster's start-up.
  const tool = mainClass !== 'kafka.Kafka';
  // The broker itself: the parallel collector, not Kafka's G1. Its young collections are short
  // pauses (a broker's garbage is short-lived requests and batches) and it needs no concurrent
  // work or G1's write barriers between them. In the realistic-load bench, runs alternated:
  // the broker at 1,000 events/s 322, 281, 307 -> 254, 252, 276, 268 µs per event, saturation
  // 5,669-6,115 -> 5,786-6,674 events/s. A production broker keeps its image's G1 (docs/deploy.md).
  const gc = ['-XX:+UseParallelGC'];
  return [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    ...(tool ? ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] : gc),
    '-Djava.awt.headless=true',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
    '-cp',
    `${options.libsDir}/*`,
    mainClass,
  ];
}

export async function startKafkaBroker(options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const java = requireCommand('java', options.pathVar);
  mkdirSync(options.dir, { recursive: true });
  const logDir = path.join(options.dir, 'data');
  const propsFile = path.join(options.dir, 'server.properties');
  const logFile = path.join(options.dir, 'kafka.log');
  writeFileSync(
    propsFile,
    serverProperties({
      port: options.port,
      controllerPort: options.controllerPort,
      logDir,
      ...(options.cluster ? { cluster: options.cluster } : {}),
    }),
  );
  const heapMb = options.heapMb ?? 512;

  const metaFile = path.join(logDir, 'meta.properties');
  if (!existsSync(metaFile)) {
    const clusterId = options.clusterId ?? newClusterId();
    const args = [
      ...javaArgs(options, 'kafka.tools.StorageTool', 256),
      'format',
      `--cluster-id=${clusterId}`,
      '-c',
      propsFile,
    ];
    const run = await runToEnd(java, args);
    if (run.code !== 0) {
      // The reason first: a test run's summary shows only the start of an error.
      const reason = lastLine(run.stderr.trim() === '' ? run.text : run.stderr);
      throw new Error(`kafka storage format failed (${run.ended}): ${reason}\n${run.text.slice(-3000)}`);
    }
  }

  const proc = startProcess({
    name: options.cluster ? `kafka-${options.cluster.nodeId}` : 'kafka',
    command: java,
    args: [...javaArgs(options, 'kafka.Kafka', heapMb), propsFile],
    logFile,
  });
  const brokers = `127.0.0.1:${options.port}`;
  const clusterId = /^cluster\.id=(.+)$/m.exec(readFileSync(metaFile, 'utf8'))?.[1]?.trim();
  try {
    const answered = await waitUntilAnswering(brokers, options.startTimeoutMs ?? 60_000, () =>
      proc.hasExited ? `exited during start-up; last log lines:\n${tail(logFile)}` : undefined,
    );
    // Another broker already on this port would answer too; only ours has our cluster id.
    if (answered !== clusterId) {
      throw new Error(
        `port ${options.port} is served by another Kafka cluster (${answered}), not the one just started (${clusterId ?? '?'})`,
      );
    }
  } catch (error: unknown) {
    await proc.stop(2_000);
    throw error;
  }
  return {
    brokers,
    port: options.port,
    nodeId: options.cluster?.nodeId ?? 1,
    process: proc,
    stop: () => proc.stop(options.stopTimeoutMs ?? 30_000),
  };
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 (22 characters). */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The broker answers once a metadata request succeeds, not merely when its port is open.
 * Resolves with the cluster id it reports.
 */
export function waitUntilAnswering(
  brokers: string,
  timeoutMs: number,
  abortIf?: () => string | undefined,
): Promise<string> {
  return waitFor(
    `kafka broker ${brokers}`,
    async () => {
      const admin = createAdmin(
        {
          brokers: [brokers],
          clientId: 'devstack-probe',
          connectionTimeoutMs: 1_000,
          requestTimeoutMs: 5_000,
          retries: 0,
        },
        silentLogger(),
      );
      try {
        await admin.connect();
        await admin.listTopics();
        return (await admin.describeCluster()).clusterId;
      } catch {
        return undefined;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { timeoutMs, intervalMs: 200, ...(abortIf ? { abortIf } : {}) },
  );
}
