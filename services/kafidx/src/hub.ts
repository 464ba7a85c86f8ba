import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createConsumer, type EventConsumer, type KafkaConnection, type Logger } from '@pushtech/runtime';
import { LiveBatch, prepareEvent } from './event-view.js';
import type { KafidxMetrics } from './metrics.js';
import type { Viewer } from './viewer.js';

/**
 * One Kafka consumer per kafidx process, in a group of its own that starts at the latest
 * offsets, fanned out to every connected browser. (The original gave each browser its own
 * group replaying the whole topic.) The handler only hands batches to sockets, which never
 * block, so no browser can hold the consumer back. start() resolves once the consumer is
 * positioned, so a browser connected after that sees every event produced after that.
 */
export class Hub {
  readonly viewers = new Set<Viewer>();
  private readonly consumer: EventConsumer;
  private readonly statusTimer: NodeJS.Timeout;

  constructor(
    connection: KafkaConnection,
    private readonly topic: string,
    private readonly logger: Logger,
    private readonly metrics: KafidxMetrics,
  ) {
    this.consumer = createConsumer(connection, logger, {
      groupId: `kafidx-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      topics: [topic],
      fromBeginning: false,
      maxWaitMs: 100,
      sessionTimeoutMs: 10_000,
    });
    this.statusTimer = setInterval(() => {
      for (const viewer of this.viewers) viewer.reportCounters();
    }, 1000);
    this.statusTimer.unref();
  }

  get running(): boolean {
    return this.consumer.running;
  }

  onCrash(listener: (error: Error) => void): void {
    this.consumer.onCrash(listener);
  }

  async start(): Promise<void> {
    await this.consumer.start((batch) => {
      this.metrics.eventsIn.inc(batch.messages.length);
      const live = new LiveBatch(batch.messages.map(prepareEvent));
      for (const viewer of this.viewers) viewer.offer(live);
      return Promise.resolve();
    });
    const assignment = await this.consumer.waitForPosition(30_000);
    this.logger.info({ topic: this.topic, assignment }, 'live consumer positioned');
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    await this.consumer.stop();
  }
}
