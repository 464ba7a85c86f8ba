import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  createAdmin,
  createConsumer,
  type EventConsumer,
  type KafkaAdmin,
  type KafkaConnection,
  type Logger,
} from '@pushtech/runtime';
import { DEFAULT_FETCH_MAX_WAIT_MS } from './config.js';
import { deleteOwnGroup } from './consumer-group.js';
import { LiveBatch, prepareEvent } from './event-view.js';
import type { KafidxMetrics } from './metrics.js';
import type { Viewer } from './viewer.js';

/** How the live consumer fetches (KAFIDX_FETCH_*). */
export interface HubFetch {
  readonly maxWaitMs: number;
  readonly minBytes: number;
}

/**
 * One Kafka consumer per kafidx process, in a group of its own that starts at the latest
 * offsets, fanned out to every connected browser. (The original gave each browser its own
 * group replaying the whole topic.) The handler only hands batches to sockets, which never
 * block, so no browser can hold the consumer back. start() resolves once the consumer is
 * positioned. It commits nothing (it always starts at the latest offsets) and deletes its group
 * when it stops.
 *
 * With nobody watching (no browser, or every browser paused) the consumer is paused: it stays
 * in its group but fetches and decodes nothing. When a browser starts watching, it moves to the
 * topic's latest offsets and fetches again; watch() resolves once every event produced from
 * then on reaches the browser.
 */
export class Hub {
  private readonly viewers = new Set<Viewer>();
  private readonly consumer: EventConsumer;
  private readonly admin: KafkaAdmin;
  private readonly statusTimer: NodeJS.Timeout;
  private readonly groupId = `kafidx-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Whether the consumer fetches; batches that arrive while it does not are dropped unread. */
  private live = true;
  /** Changes between live and paused, one at a time; never rejects. */
  private changes: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: KafkaConnection,
    private readonly topic: string,
    private readonly logger: Logger,
    private readonly metrics: KafidxMetrics,
    fetch: HubFetch = { maxWaitMs: DEFAULT_FETCH_MAX_WAIT_MS, minBytes: 1 },
  ) {
    this.consumer = createConsumer(connection, logger, {
      groupId: this.groupId,
      topics: [topic],
      fromBeginning: false,
      maxWaitMs: fetch.maxWaitMs,
      minBytes: fetch.minBytes,
      sessionTimeoutMs: 10_000,
      commitOffsets: false,
    });
    this.admin = createAdmin(connection, logger);
    this.statusTimer = setInterval(() => {
      for (const viewer of this.viewers) viewer.reportCounters();
    }, 1000);
    this.statusTimer.unref();
    this.metrics.live.set(1);
  }

  get running(): boolean {
    return this.consumer.running;
  }

  /** The browsers connected now. */
  get connected(): number {
    return this.viewers.size;
  }

  onCrash(listener: (error: Error) => void): void {
    this.consumer.onCrash(listener);
  }

  /** A browser connected; resolves once the live events reach it. */
  add(viewer: Viewer): Promise<void> {
    this.viewers.add(viewer);
    return this.follow();
  }

  remove(viewer: Viewer): void {
    this.viewers.delete(viewer);
    void this.follow();
  }

  /**
   * Follows who watches now (after a browser connected, left, paused or resumed): pauses the
   * consumer when nobody does, resumes it at the latest offsets when someone does. Resolves
   * once that is done.
   */
  follow(): Promise<void> {
    this.changes = this.changes
      .then(() => this.apply())
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not pause or resume the live consumer'));
    return this.changes;
  }

  private async apply(): Promise<void> {
    const watched = [...this.viewers].some((v) => v.watching);
    if (watched === this.live) return;
    if (!watched) {
      this.live = false;
      this.consumer.pause();
      this.metrics.live.set(0);
      this.logger.debug({ topic: this.topic }, 'nobody watches: live consumer paused');
      return;
    }
    // From the latest offsets: what was produced while nobody watched is for replay, not live.
    try {
      const assignment = await this.consumer.waitForAssignment(30_000);
      const owned = new Set(assignment.filter((a) => a.topic === this.topic).flatMap((a) => a.partitions));
      for (const { partition, high } of await this.admin.topicOffsets(this.topic)) {
        if (owned.has(partition)) this.consumer.seek(this.topic, partition, high);
      }
    } catch (error: unknown) {
      this.logger.warn({ err: error, topic: this.topic }, 'could not find the latest offsets; resuming where paused');
    }
    this.live = true;
    this.consumer.resume();
    this.metrics.live.set(1);
    this.logger.debug({ topic: this.topic }, 'a browser watches: live consumer resumed');
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.consumer.start((batch) => {
      if (!this.live) return Promise.resolve();
      this.metrics.eventsIn.inc(batch.messages.length);
      const live = new LiveBatch(batch.messages.map(prepareEvent));
      for (const viewer of this.viewers) viewer.offer(live);
      return Promise.resolve();
    });
    const assignment = await this.consumer.waitForPosition(30_000);
    this.logger.info({ topic: this.topic, assignment }, 'live consumer positioned');
    await this.follow();
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    await this.changes;
    await this.consumer.stop();
    await this.admin.disconnect().catch(() => undefined);
    await deleteOwnGroup(this.connection, this.logger, this.groupId);
  }
}
