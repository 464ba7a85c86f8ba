import path from 'node:path';
import {
  ensureKafkaJars,
  freePort,
  startKafkaBroker,
  startKafkaCluster,
  type KafkaBroker,
  type KafkaCluster,
} from '@pushtech/devstack';
import { trackProcess } from './scope.js';

/** Heap of each node of a scenario's cluster: three JVMs beside the pod and the load on 2 cores. */
const CLUSTER_HEAP_MB = 384;

/**
 * The Kafka a scenario may stop and start again: a single node (same ports, same data folder,
 * so the topics and their messages survive the outage as on a real cluster), or with
 * `nodes: 3` a KRaft cluster whose nodes it kills and restarts one by one (`cluster`).
 */
export class Broker {
  private running: KafkaBroker | undefined;

  private constructor(
    private readonly options: {
      libsDir: string;
      dir: string;
      port: number;
      controllerPort: number;
      heapMb: number;
    },
    /** The scenario's cluster, when it asked for more than one node. */
    readonly cluster: KafkaCluster | undefined,
  ) {}

  static async start(options: {
    dir: string;
    cacheRoot: string;
    heapMb?: number;
    /** 3: a KRaft cluster of three combined nodes instead of one broker. */
    nodes?: number;
    log?: (line: string) => void;
  }): Promise<Broker> {
    const { libsDir } = await ensureKafkaJars({
      cacheRoot: options.cacheRoot,
      ...(options.log ? { log: options.log } : {}),
    });
    const single = {
      libsDir,
      dir: path.join(options.dir, 'kafka'),
      port: await freePort(),
      controllerPort: await freePort(),
      heapMb: options.heapMb ?? 384,
    };
    if ((options.nodes ?? 1) > 1) {
      const nodes = [];
      for (let i = 0; i < (options.nodes ?? 1); i++) {
        nodes.push({ port: await freePort(), controllerPort: await freePort() });
      }
      const started = Date.now();
      const cluster = trackCluster(
        await startKafkaCluster({
          libsDir,
          dir: path.join(options.dir, 'kafka-cluster'),
          nodes,
          heapMb: options.heapMb ?? CLUSTER_HEAP_MB,
        }),
      );
      options.log?.(`a Kafka cluster of ${nodes.length} nodes answering after ${Date.now() - started} ms`);
      return new Broker(single, cluster);
    }
    const broker = new Broker(single, undefined);
    await broker.resume();
    return broker;
  }

  /** A cluster started (and stopped) by the caller, for a scenario that kills and restarts its nodes. */
  static onCluster(cluster: KafkaCluster): Broker {
    return new Broker({ libsDir: '', dir: '', port: 0, controllerPort: 0, heapMb: 0 }, cluster);
  }

  /** Bootstrap addresses, comma-separated (every node of a cluster). */
  get brokers(): string {
    return this.cluster?.brokers ?? `127.0.0.1:${this.options.port}`;
  }

  get port(): number {
    return this.options.port;
  }

  get isRunning(): boolean {
    return this.cluster ? this.cluster.running.length > 0 : this.running !== undefined;
  }

  /** Starts the broker; resolves once it answers metadata requests. */
  async resume(): Promise<void> {
    if (this.cluster) throw new Error('a cluster is resumed node by node (cluster.startNode)');
    if (this.running) return;
    const broker = await startKafkaBroker(this.options);
    const untrack = trackProcess(broker.process.pid, 'kafka');
    void broker.process.exited.then(untrack);
    this.running = broker;
  }

  /** A clean stop (SIGTERM, controlled shutdown), as an operator or a node drain does. */
  async stop(): Promise<void> {
    if (this.cluster) return this.cluster.stop();
    const broker = this.running;
    this.running = undefined;
    await broker?.stop();
  }
}

/** Every node the cluster runs, now and after each restart, is killed with the run on Ctrl-C. */
function trackCluster(cluster: KafkaCluster): KafkaCluster {
  const track = (node: KafkaBroker): KafkaBroker => {
    const untrack = trackProcess(node.process.pid, node.process.name);
    void node.process.exited.then(untrack);
    return node;
  };
  cluster.running.forEach(track);
  const startNode = cluster.startNode.bind(cluster);
  return Object.assign(cluster, { startNode: async (nodeId: number) => track(await startNode(nodeId)) });
}
