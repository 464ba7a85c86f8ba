import path from 'node:path';
import { ensureKafkaJars, freePort, startKafkaBroker, type KafkaBroker } from '@pushtech/devstack';
import { trackProcess } from './scope.js';

/**
 * A single-node Kafka broker this program may stop and start again: same ports, same data
 * folder, so the topics and their messages survive the outage as on a real cluster.
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
  ) {}

  static async start(options: {
    dir: string;
    cacheRoot: string;
    heapMb?: number;
    log?: (line: string) => void;
  }): Promise<Broker> {
    const { libsDir } = await ensureKafkaJars({
      cacheRoot: options.cacheRoot,
      ...(options.log ? { log: options.log } : {}),
    });
    const broker = new Broker({
      libsDir,
      dir: path.join(options.dir, 'kafka'),
      port: await freePort(),
      controllerPort: await freePort(),
      heapMb: options.heapMb ?? 384,
    });
    await broker.resume();
    return broker;
  }

  get brokers(): string {
    return `127.0.0.1:${this.options.port}`;
  }

  get port(): number {
    return this.options.port;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Starts the broker; resolves once it answers metadata requests. */
  async resume(): Promise<void> {
    if (this.running) return;
    const broker = await startKafkaBroker(this.options);
    const untrack = trackProcess(broker.process.pid, 'kafka');
    void broker.process.exited.then(untrack);
    this.running = broker;
  }

  /** A clean stop (SIGTERM, controlled shutdown), as an operator or a node drain does. */
  async stop(): Promise<void> {
    const broker = this.running;
    this.running = undefined;
    await broker?.stop();
  }
}
