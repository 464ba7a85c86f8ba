import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { runToEnd } from './child-process.js';
import { requireCommand } from './commands.js';
import { newClusterId, startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './kafka-broker.js';

/** One node's own ports; the node id is its place in the list plus one. */
export interface KafkaNodePorts {
  readonly port: number;
  readonly controllerPort: number;
}

export interface KafkaClusterOptions {
  libsDir: string;
  /** Parent of the nodes' folders (`node-1`, `node-2`, ...): each its data, properties and log. */
  dir: string;
  nodes: readonly KafkaNodePorts[];
  /** Heap of each node's JVM. */
  heapMb?: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  pathVar?: string;
}

/**
 * A running KRaft cluster on loopback. Each node is broker and controller in one JVM. A node can
 * be killed and started again on the same ports and data (the chaos suite's leader failover).
 */
export interface KafkaCluster {
  /** Bootstrap addresses of every node, comma-separated. */
  readonly brokers: string;
  readonly clusterId: string;
  /** The running node by id, or undefined while it is down. */
  node(nodeId: number): KafkaBroker | undefined;
  /** Every running node. */
  readonly running: readonly KafkaBroker[];
  readonly nodeIds: readonly number[];
  /** The controller port of a node (for tools that talk to the quorum). */
  controllerPort(nodeId: number): number;
  /** The options a node runs with (its folder holds kafka.log). */
  nodeOptions(nodeId: number): KafkaBrokerOptions;
  /** SIGKILL, as a crashed machine: no controlled shutdown. Resolves once the process is gone. */
  kill(nodeId: number): Promise<void>;
  /** SIGTERM (controlled shutdown: leadership moved away first). */
  stopNode(nodeId: number): Promise<void>;
  /** Starts a stopped node again on its ports and data; resolves once it answers. */
  startNode(nodeId: number): Promise<KafkaBroker>;
  /** Stops every running node. Idempotent. */
  stop(): Promise<void>;
}

export function nodeDir(dir: string, nodeId: number): string {
  return path.join(dir, `node-${nodeId}`);
}

/** The cluster id already written in a node's data folder, if it was formatted before. */
function formattedClusterId(dir: string): string | undefined {
  const meta = path.join(dir, 'data', 'meta.properties');
  if (!existsSync(meta)) return undefined;
  return /^cluster\.id=(.+)$/m.exec(readFileSync(meta, 'utf8'))?.[1]?.trim();
}

/**
 * Starts every node at once (none answers before a majority of controllers elected a leader)
 * and resolves once each answers metadata requests with the cluster's id. A folder kept from an
 * earlier run keeps its cluster id and its topics.
 */
export async function startKafkaCluster(options: KafkaClusterOptions): Promise<KafkaCluster> {
  if (options.nodes.length === 0) throw new Error('a Kafka cluster needs at least one node');
  const voters = options.nodes.map((n, i) => ({ nodeId: i + 1, controllerPort: n.controllerPort }));
  const known = voters.map((v) => formattedClusterId(nodeDir(options.dir, v.nodeId)));
  const clusterId = known.find((id) => id !== undefined) ?? newClusterId();
  const nodeOptions = new Map<number, KafkaBrokerOptions>(
    options.nodes.map((n, i) => {
      const nodeId = i + 1;
      const o: KafkaBrokerOptions = {
        libsDir: options.libsDir,
        dir: nodeDir(options.dir, nodeId),
        port: n.port,
        controllerPort: n.controllerPort,
        cluster: { nodeId, voters },
        clusterId,
        // Three JVMs start together on a small machine: more time than one alone.
        startTimeoutMs: options.startTimeoutMs ?? 60_000 * options.nodes.length,
        ...(options.heapMb !== undefined ? { heapMb: options.heapMb } : {}),
        ...(options.stopTimeoutMs !== undefined ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
        ...(options.pathVar !== undefined ? { pathVar: options.pathVar } : {}),
      };
      return [nodeId, o];
    }),
  );
  const optionsOf = (nodeId: number): KafkaBrokerOptions => {
    const o = nodeOptions.get(nodeId);
    if (!o) throw new Error(`no node ${nodeId} in this cluster (nodes ${[...nodeOptions.keys()].join(', ')})`);
    return o;
  };

  const running = new Map<number, KafkaBroker>();
  const starts = await Promise.allSettled(voters.map((v) => startKafkaBroker(optionsOf(v.nodeId))));
  for (const s of starts) if (s.status === 'fulfilled') running.set(s.value.nodeId, s.value);
  const failed = starts.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled([...running.values()].map((b) => b.stop()));
    throw failed.reason;
  }

  let stopping: Promise<void> | undefined;
  const cluster: KafkaCluster = {
    brokers: options.nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    clusterId,
    nodeIds: voters.map((v) => v.nodeId),
    node: (nodeId) => running.get(nodeId),
    get running() {
      return [...running.values()].sort((a, b) => a.nodeId - b.nodeId);
    },
    controllerPort: (nodeId) => optionsOf(nodeId).controllerPort,
    nodeOptions: optionsOf,
    async kill(nodeId) {
      const node = running.get(nodeId);
      running.delete(nodeId);
      await node?.process.kill();
    },
    async stopNode(nodeId) {
      const node = running.get(nodeId);
      running.delete(nodeId);
      await node?.stop();
    },
    async startNode(nodeId) {
      const already = running.get(nodeId);
      if (already) return already;
      const node = await startKafkaBroker(optionsOf(nodeId));
      running.set(nodeId, node);
      return node;
    },
    stop: () =>
      (stopping ??= (async () => {
        const nodes = [...running.values()];
        running.clear();
        await Promise.allSettled(nodes.map((n) => n.stop()));
      })()),
  };
  return cluster;
}

export interface PartitionPlacement {
  readonly partition: number;
  /** Node id of the leader; -1 while the partition has none. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/**
 * Leader, replicas and in-sync replicas of each partition of a topic, as the cluster's metadata
 * says now (kafkajs's admin directly: the runtime's Kafka module has no use for placements).
 */
export async function partitionPlacements(brokers: string, topic: string): Promise<PartitionPlacement[]> {
  const admin = new kafkajs.Kafka({
    brokers: brokers.split(','),
    clientId: 'devstack-placements',
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 2 },
  }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return (topics[0]?.partitions ?? [])
      .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/** The node that leads the most partitions of `topic` (the lowest id on a tie). */
export function busiestLeader(placements: readonly PartitionPlacement[]): { nodeId: number; partitions: number } {
  const led = new Map<number, number>();
  for (const p of placements) if (p.leader >= 0) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
  const [nodeId, partitions] = [...led.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [-1, 0];
  return { nodeId, partitions };
}

/**
 * The active controller (the KRaft quorum's leader), asked of a running node's controller
 * listener with Kafka's own tool (the Kafka protocol's metadata answer does not name it).
 */
export async function activeController(cluster: KafkaCluster, pathVar?: string): Promise<number> {
  const java = requireCommand('java', pathVar);
  const asked = cluster.running[0];
  if (!asked) throw new Error('no node of the cluster is running');
  const { libsDir } = cluster.nodeOptions(asked.nodeId);
  const { code, text, ended } = await runToEnd(java, [
    '-Xmx128m',
    '-XX:TieredStopAtLevel=1',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp',
    `${libsDir}/*`,
    'org.apache.kafka.tools.MetadataQuorumCommand',
    '--bootstrap-controller',
    `127.0.0.1:${cluster.controllerPort(asked.nodeId)}`,
    'describe',
    '--status',
  ]);
  const leader = /^LeaderId:\s+(-?\d+)/m.exec(text)?.[1];
  if (code !== 0 || leader === undefined) {
    throw new Error(`cannot ask the quorum for its leader (${ended}): ${text.slice(-1000)}`);
  }
  return Number(leader);
}
