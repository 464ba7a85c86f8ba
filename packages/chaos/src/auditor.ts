import { randomBytes } from 'node:crypto';
import { decodeMessage } from '@pushtech/event';
import {
  createAdmin,
  createConsumer,
  silentLogger,
  type EventConsumer,
  type IncomingBatch,
  type KafkaAdmin,
} from '@pushtech/runtime';
import type { AuditTopics } from './topics.js';

/** One distinct event (by its id, meta `id`) found in the event topic. */
export interface EventSighting {
  readonly type: string;
  /** Distinct Kafka messages carrying this event id. */
  count: number;
}

/** Where one request id was found in Kafka. */
export interface Sighting {
  /** Distinct Kafka messages carrying this id (more than one: a duplicate). */
  count: number;
  /** When the broker appended the first of them (LogAppendTime), ms since the epoch. */
  firstAppendedAt: number;
}

const MAX_RESTARTS = 5;

/** What ended the wait for acknowledged events after the load (Auditor.waitFor). */
export type SettleEnd = 'all seen' | 'nothing pending' | 'timeout';

/**
 * Reads the scenario's topic from the beginning, in a consumer group of its own, and records
 * every request id (the load generator's `rid` param) it finds and how often. A message is
 * counted once per partition and offset, so a message the auditor itself reads twice (a new
 * consumer after a pause or a crash starts from the beginning) is not taken for a duplicate.
 */
export class Auditor {
  private readonly seen = new Map<string, Sighting>();
  private readonly byEventId = new Map<string, EventSighting>();
  private readonly offsets = new Set<string>();
  /** Per topic and partition (`topic/partition`), the offset after the last message read. */
  private readonly readUpTo = new Map<string, bigint>();
  private admin: KafkaAdmin | undefined;
  private consumer: EventConsumer | undefined;
  private restarts = 0;
  private failure: Error | undefined;
  private stopped = false;
  private pausing = false;
  deadLetters = 0;
  /** The headers of the first few dead letters, to say who wrote them and why. */
  readonly deadLetterSample: string[] = [];
  undecodable = 0;
  withoutRequestId = 0;
  messages = 0;

  private constructor(
    private readonly brokers: string,
    private readonly topics: AuditTopics,
    private readonly log: (line: string) => void,
  ) {}

  static async start(brokers: string, topics: AuditTopics, log: (line: string) => void): Promise<Auditor> {
    const auditor = new Auditor(brokers, topics, log);
    await auditor.connect();
    return auditor;
  }

  get sightings(): ReadonlyMap<string, Sighting> {
    return this.seen;
  }

  /** Every distinct event in the topic, by event id: what each consumer must apply exactly once. */
  get events(): ReadonlyMap<string, EventSighting> {
    return this.byEventId;
  }

  /**
   * Every consumer gets a group of its own and reads from the beginning: a predecessor that
   * failed to leave its group cannot hold the partitions, and the per-offset check in
   * record() makes the second reading harmless.
   */
  private async connect(): Promise<void> {
    const groupId = `chaos-auditor-${randomBytes(4).toString('hex')}`;
    const consumer = createConsumer({ brokers: this.brokers.split(','), clientId: groupId }, silentLogger(), {
      groupId,
      topics: [this.topics.topic, this.topics.deadLetterTopic],
      fromBeginning: true,
      maxWaitMs: 100,
    });
    consumer.onCrash((error) => {
      if (this.stopped || this.pausing || this.consumer !== consumer) return;
      if (this.restarts >= MAX_RESTARTS) {
        this.failure = new Error(`the auditor's Kafka consumer stopped for good: ${error.message}`, { cause: error });
        return;
      }
      this.restarts += 1;
      this.log(`auditor: consumer stopped (${error.message}); starting a new one`);
      void consumer
        .stop()
        .catch(() => undefined)
        .then(() => this.connect())
        .catch((e: unknown) => {
          this.failure = e instanceof Error ? e : new Error(String(e));
        });
    });
    this.consumer = consumer;
    await consumer.start((batch) => {
      this.record(batch);
      return Promise.resolve();
    });
  }

  private record(batch: IncomingBatch): void {
    for (const message of batch.messages) {
      const where = `${batch.topic}/${batch.partition}/${message.offset}`;
      if (this.offsets.has(where)) continue;
      this.offsets.add(where);
      const next = BigInt(message.offset) + 1n;
      const position = `${batch.topic}/${batch.partition}`;
      if (next > (this.readUpTo.get(position) ?? 0n)) this.readUpTo.set(position, next);
      if (batch.topic === this.topics.deadLetterTopic) {
        this.deadLetters += 1;
        if (this.deadLetterSample.length < 5) this.deadLetterSample.push(JSON.stringify(message.headers).slice(0, 400));
        continue;
      }
      this.messages += 1;
      const decoded = decodeMessage(message.value?.toString('utf8') ?? '');
      if (!decoded.ok) {
        this.undecodable += 1;
        continue;
      }
      const event = this.byEventId.get(decoded.value.meta.id);
      if (event) event.count += 1;
      else this.byEventId.set(decoded.value.meta.id, { type: decoded.value.type, count: 1 });
      let rid: string | undefined;
      for (const [name, value] of decoded.value.params) if (name === 'rid') rid = value;
      if (rid === undefined) {
        this.withoutRequestId += 1;
        continue;
      }
      const sighting = this.seen.get(rid);
      if (sighting) {
        sighting.count += 1;
        sighting.firstAppendedAt = Math.min(sighting.firstAppendedAt, message.timestamp);
      } else {
        this.seen.set(rid, { count: 1, firstAppendedAt: message.timestamp });
      }
    }
  }

  /**
   * Waits until every id was seen, or `nothingPending` says nothing more can arrive (then the
   * ids still missing are lost and waiting longer would change nothing), or `timeoutMs` passed.
   * Resolves with how many ids are missing and which of the three ended the wait. Rejects when
   * the auditor cannot read Kafka any more.
   */
  async waitFor(
    ids: Iterable<string>,
    options: { timeoutMs: number; nothingPending?: () => Promise<boolean> },
  ): Promise<{ missing: number; ended: SettleEnd }> {
    const deadline = Date.now() + options.timeoutMs;
    let missing = [...ids].filter((id) => !this.seen.has(id));
    let lastPendingCheck = 0;
    while (missing.length > 0 && Date.now() < deadline) {
      if (this.failure) throw this.failure;
      await new Promise((r) => setTimeout(r, 100));
      missing = missing.filter((id) => !this.seen.has(id));
      if (missing.length > 0 && options.nothingPending && Date.now() - lastPendingCheck >= 500) {
        lastPendingCheck = Date.now();
        const settled = await options.nothingPending().catch(() => false);
        if (settled) return { missing: missing.filter((id) => !this.seen.has(id)).length, ended: 'nothing pending' };
      }
    }
    return { missing: missing.length, ended: missing.length === 0 ? 'all seen' : 'timeout' };
  }

  /** Consumers the auditor started again after its consumer stopped. */
  get restartCount(): number {
    return this.restarts;
  }

  /** Messages in the topic now (the sum of its partitions' high watermarks minus their starts). */
  async messagesIn(topic: string): Promise<number> {
    const offsets = await this.adminClient().then((admin) => admin.topicOffsets(topic));
    return offsets.reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
  }

  /**
   * Leaves the topic alone for a while: the consumer stops cleanly while the broker is still
   * there. Riding a broker outage out instead puts kafkajs into its crash-and-restart path,
   * where a consumer stopped at the wrong moment can restart itself afterwards and keep the
   * process alive (seen once: the test process never exited).
   */
  async pause(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.pausing = true;
    try {
      await consumer?.stop();
    } finally {
      this.pausing = false;
    }
  }

  /** Reads on with a new consumer (from the beginning; what was read already is skipped). */
  async resume(): Promise<void> {
    if (!this.consumer) await this.connect();
  }

  /** Whether everything in the event topic (or the dead-letter topic) right now has been read. */
  async caughtUp(topic = this.topics.topic): Promise<boolean> {
    const offsets = await (await this.adminClient()).topicOffsets(topic);
    // No partitions known (metadata not there yet) is not "everything read".
    return (
      offsets.length > 0 && offsets.every((o) => BigInt(o.high) <= (this.readUpTo.get(`${topic}/${o.partition}`) ?? 0n))
    );
  }

  private async adminClient(): Promise<KafkaAdmin> {
    if (!this.admin) {
      const admin = createAdmin({ brokers: this.brokers.split(','), clientId: 'chaos-auditor-admin' }, silentLogger());
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([this.consumer?.stop(), this.admin?.disconnect()]);
  }
}
