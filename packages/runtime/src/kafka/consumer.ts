import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logger.js';
import { createKafkaClient } from './client.js';
import { registerFetchLinger } from './kafkajs-fetch-linger.js';
import type {
  BatchContext,
  BatchHandler,
  ConsumerOptions,
  EventConsumer,
  GatheredBatchHandler,
  IncomingBatch,
  IncomingMessage,
  KafkaConnection,
} from './types.js';
import { PushtechError, describeError } from '../errors.js';
import { APPLYING, brokerErrorType, whileLeadersSettle } from './admin.js';

/**
 * How long a consumer's start asks again while the node it asks does not know its topics yet.
 * A topic created a moment ago (by the topic Job, the devstack or a test) reaches each node of a
 * cluster from the metadata log a little later, and kafkajs gives that answer up at once.
 */
const TOPICS_APPLY_MS = 10_000;

/**
 * Wraps an error thrown by the service's handler. `retriable = false` makes kafkajs give up at
 * once instead of re-running the handler on its own schedule: retrying a handler is the
 * consumer kit's decision, and a handler that finally failed must end the consumer.
 */
class HandlerFailed extends Error {
  readonly retriable = false;
  /**
   * The handler's error. Deliberately not `cause`: kafkajs decides whether to restart from the
   * innermost cause, so a handler error caused by a retriable Kafka error (a failed dead-letter
   * send) would otherwise restart the consumer in a loop instead of ending it.
   */
  readonly handlerError: unknown;

  constructor(handlerError: unknown) {
    super(`batch handler failed: ${describeError(handlerError)}`);
    this.name = 'HandlerFailed';
    this.handlerError = handlerError;
  }
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) result[name] = first.toString();
  }
  return result;
}

function toIncoming(topic: string, partition: number, m: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: Number(m.timestamp),
    key: m.key,
    value: m.value,
    headers: headersToStrings(m.headers),
  };
}

/** A partition's next offset to read: what a commit stores. */
interface Position {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

function byTopic(
  positions: readonly Position[],
): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of positions) {
    const list = topics.get(topic) ?? [];
    list.push({ partition, offset });
    topics.set(topic, list);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

/** A partition's batch as kafkajs handed it over, waiting for a gathered call. */
interface Waiting {
  readonly batch: IncomingBatch;
  readonly payload: EachBatchPayload;
  readonly done: (error?: Error) => void;
}

/**
 * kafkajs workers when batches are gathered: every partition of a fetch (up to this many) reaches
 * eachBatch at once, so that one call can take them all. A worker is a loop over a shared queue.
 */
const GATHER_WORKERS = 64;

/**
 * The default of `maxPartitionBytes`: about 600 events of one partition per fetch (kafkajs's own
 * default is 1 MiB). While a backlog is read, a handler call holds every event of a fetch; with
 * six partitions at 1 MiB that was about 14,000 events, decoded and alive together, more than
 * V8's young generation holds, and a consumer reading every event spent most of its time in GC:
 * the kit's bench read 94-102 k events/s at 1 MiB and 194-210 k at 256 KiB (a no-op handler
 * 298-393 k against 340-349 k). At moderate rates a fetch is far below either.
 */
const FETCH_MAX_PARTITION_BYTES = 256 * 1024;

function incomingBatch(payload: EachBatchPayload): IncomingBatch {
  const { batch } = payload;
  return {
    topic: batch.topic,
    partition: batch.partition,
    highWatermark: batch.highWatermark,
    messages: batch.messages.map((m) => toIncoming(batch.topic, batch.partition, m)),
  };
}

class KafkajsConsumer implements EventConsumer {
  private crashListeners: ((error: Error) => void)[] = [];
  private assignment: { topic: string; partitions: number[] }[] | undefined;
  private assignmentWaiters: (() => void)[] = [];
  /** Whether the first fetch since the latest assignment has been made (offsets resolved). */
  private positioned = false;
  private positionWaiters: (() => void)[] = [];
  private isRunning = false;
  private stopping = false;
  /** Handled but not yet committed, per `topic:partition` (commitIntervalMs > 0). */
  private readonly uncommitted = new Map<string, Position>();
  private lastCommitAt = 0;
  private commitTimer: NodeJS.Timeout | undefined;
  /** Commits go out one after the other, so an older offset never lands after a newer one. */
  private commits: Promise<void> = Promise.resolve();
  private readonly unregisterLinger: () => void;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
    private readonly logger: Logger,
  ) {
    this.unregisterLinger = registerFetchLinger(options.groupId, options.fetchLingerMs ?? 0);
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      options.onJoin?.();
      this.assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions: [...partitions].sort((a, b) => a - b),
      }));
      this.logger.debug({ groupId: options.groupId, assignment: this.assignment }, 'joined consumer group');
      // A partition now owned by another member is committed by that member: a late commit of
      // ours would move its offset back.
      for (const [key, position] of this.uncommitted) {
        if (!this.assignment.some((a) => a.topic === position.topic && a.partitions.includes(position.partition))) {
          this.uncommitted.delete(key);
        }
      }
      // A new assignment is positioned by the next fetch: kafkajs resolves the offsets of a
      // group without commits ("latest" or "earliest") there, not when it joins. With no
      // partition there is nothing to fetch, and nothing to wait for.
      this.positioned = this.assignment.every((a) => a.partitions.length === 0);
      for (const wake of this.assignmentWaiters.splice(0)) wake();
      if (this.positioned) for (const wake of this.positionWaiters.splice(0)) wake();
    });
    consumer.on(consumer.events.FETCH, () => {
      options.onFetch?.();
      if (this.assignment === undefined || this.positioned) return;
      this.positioned = true;
      for (const wake of this.positionWaiters.splice(0)) wake();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const error = event.payload.error;
      if (event.payload.restart) {
        this.logger.warn({ err: error.message, groupId: options.groupId }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      this.isRunning = false;
      if (this.stopping) return;
      for (const listener of this.crashListeners) listener(error);
    });
  }

  get running(): boolean {
    return this.isRunning;
  }

  onCrash(listener: (error: Error) => void): void {
    this.crashListeners.push(listener);
  }

  async start(handler: BatchHandler): Promise<void> {
    await this.run(this.options.concurrency ?? 1, async (payload) => {
      const batch = incomingBatch(payload);
      await this.handle([payload], (ctx) => handler(batch, ctx));
      await this.handled([{ batch, payload }]);
    });
  }

  async startGathered(handler: GatheredBatchHandler, calls = 1): Promise<void> {
    const waiting: Waiting[] = [];
    let running = 0;
    let scheduled = false;
    /** One call for every batch waiting now; the next when a call ends or a batch comes. */
    const pump = (): void => {
      if (scheduled || running >= calls || waiting.length === 0) return;
      scheduled = true;
      // After the I/O callbacks of this turn: every batch of the fetch has reached eachBatch.
      setImmediate(() => {
        scheduled = false;
        if (running >= calls || waiting.length === 0) return;
        const taken = waiting.splice(0);
        running += 1;
        void (async () => {
          try {
            const batches = taken.map((w) => w.batch);
            await this.handle(
              taken.map((w) => w.payload),
              (ctx) => handler(batches, ctx),
            );
            await this.handled(taken);
            for (const w of taken) w.done();
          } catch (error: unknown) {
            const failed = error instanceof Error ? error : new Error(describeError(error));
            for (const w of taken) w.done(failed);
          } finally {
            running -= 1;
            pump();
          }
        })();
      });
    };
    await this.run(GATHER_WORKERS, (payload) => {
      const batch = incomingBatch(payload);
      return new Promise<void>((resolve, reject) => {
        waiting.push({ batch, payload, done: (error) => (error === undefined ? resolve() : reject(error)) });
        pump();
      });
    });
  }

  /** Subscribes, waiting out a node that has not applied a just-created topic (TOPICS_APPLY_MS). */
  private async subscribe(): Promise<void> {
    const topics = [...this.options.topics];
    try {
      await whileLeadersSettle(
        () => {
          // A stop while the start waits ends the wait: the next try would connect again.
          if (this.stopping) return Promise.reject(new Error('the consumer was stopped before it subscribed'));
          return this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning });
        },
        TOPICS_APPLY_MS,
        APPLYING,
      );
    } catch (error: unknown) {
      if (brokerErrorType(error) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      throw new PushtechError(
        'PT_ERR_KAFKA_ADMIN',
        `cannot subscribe to ${topics.join(', ')}: the brokers did not know a topic for ${TOPICS_APPLY_MS / 1000} s ` +
          `(${describeError(error)}); create it first`,
        { cause: error },
      );
    }
  }

  private async run(concurrency: number, eachBatch: (payload: EachBatchPayload) => Promise<void>): Promise<void> {
    await this.consumer.connect();
    await this.subscribe();
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: async (payload) => {
        if (payload.batch.messages.length === 0) return;
        await eachBatch(payload);
      },
    });
    this.isRunning = true;
  }

  /**
   * Runs the handler over batches of these payloads. A failed heartbeat (the group is
   * rebalancing, or forgot this member) goes back to kafkajs as it is: kafkajs rejoins and the
   * uncommitted batches are read again, nothing ends. Any other error ends the consumer.
   */
  private async handle(
    payloads: readonly EachBatchPayload[],
    call: (ctx: BatchContext) => Promise<void>,
  ): Promise<void> {
    const first = payloads[0] as EachBatchPayload;
    let heartbeatError: unknown;
    const heartbeat = (): Promise<void> =>
      first.heartbeat().catch((error: unknown) => {
        heartbeatError = error;
        throw error;
      });
    try {
      await call({ heartbeat, isActive: () => payloads.every((p) => p.isRunning() && !p.isStale()) });
    } catch (error: unknown) {
      if (heartbeatError !== undefined && error === heartbeatError) throw error;
      throw new HandlerFailed(error);
    }
  }

  /** After the handler resolved: moves past the batches and commits (now or by the interval). */
  private async handled(items: readonly { batch: IncomingBatch; payload: EachBatchPayload }[]): Promise<void> {
    for (const { batch, payload } of items) {
      const last = batch.messages[batch.messages.length - 1] as IncomingMessage;
      // Resolving moves kafkajs's fetch position past the batch (without it the same batch
      // is fetched again); the committed offset is the next one to read, hence +1.
      payload.resolveOffset(last.offset);
      if (this.options.commitOffsets === false) continue;
      this.uncommitted.set(`${batch.topic}:${batch.partition}`, {
        topic: batch.topic,
        partition: batch.partition,
        offset: (BigInt(last.offset) + 1n).toString(),
      });
    }
    if (this.options.commitOffsets === false) return;
    const payload = (items[0] as { payload: EachBatchPayload }).payload;
    const interval = this.options.commitIntervalMs ?? 0;
    if (this.stopping || !payload.isRunning() || Date.now() - this.lastCommitAt >= interval) {
      // Committed through the batch payload: consumer.commitOffsets() silently skips the commit
      // once a stop has begun, which would lose the commit of the batch a graceful stop waits for.
      await this.commitUncommitted((positions) => payload.commitOffsetsIfNecessary({ topics: byTopic(positions) }));
    } else {
      this.commitLater(this.lastCommitAt + interval - Date.now());
    }
  }

  /** Commits every handled offset not committed yet; a failed commit keeps them for the next try. */
  private commitUncommitted(send: (positions: Position[]) => Promise<unknown>): Promise<void> {
    const commit = async (): Promise<void> => {
      clearTimeout(this.commitTimer);
      this.commitTimer = undefined;
      if (this.uncommitted.size === 0) return;
      const positions = [...this.uncommitted.values()];
      this.uncommitted.clear();
      this.lastCommitAt = Date.now();
      try {
        await send(positions);
        this.options.onCommit?.();
      } catch (error: unknown) {
        for (const p of positions) {
          const key = `${p.topic}:${p.partition}`;
          if (!this.uncommitted.has(key)) this.uncommitted.set(key, p);
        }
        throw error;
      }
    };
    const done = this.commits.then(commit, commit);
    this.commits = done.catch(() => undefined);
    return done;
  }

  /** Commits what is handled in `delayMs` unless a batch commits it first: a lone batch waits no longer. */
  private commitLater(delayMs: number): void {
    if (this.commitTimer !== undefined || this.uncommitted.size === 0 || this.stopping) return;
    this.commitTimer = setTimeout(
      () => {
        this.commitTimer = undefined;
        if (this.stopping) return;
        this.commitUncommitted((positions) =>
          this.consumer.commitOffsets(
            positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })),
          ),
        ).catch((error: unknown) => {
          // Kept for the next batch's commit; after a rebalance the new owner reads them again.
          this.logger.warn({ err: error, groupId: this.options.groupId }, 'offset commit failed; retried later');
          this.commitLater(this.options.commitIntervalMs ?? 1_000);
        });
      },
      Math.max(0, delayMs),
    );
    this.commitTimer.unref();
  }

  pause(): void {
    this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    this.consumer.resume(this.options.topics.map((topic) => ({ topic })));
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  async waitForAssignment(timeoutMs: number): Promise<{ topic: string; partitions: number[] }[]> {
    if (!this.assignment) {
      await this.waitFor(this.assignmentWaiters, timeoutMs, 'no partition assignment');
    }
    return this.assignment ?? [];
  }

  async waitForPosition(timeoutMs: number): Promise<{ topic: string; partitions: number[] }[]> {
    if (!this.positioned) await this.waitFor(this.positionWaiters, timeoutMs, 'no first fetch');
    return this.assignment ?? [];
  }

  private waitFor(waiters: (() => void)[], timeoutMs: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = waiters.indexOf(wake);
        if (at >= 0) waiters.splice(at, 1);
        reject(new Error(`${what} for group ${this.options.groupId} after ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.push(wake);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    // What was handled is committed before leaving (a batch still in hand commits itself).
    if (this.isRunning) {
      await this.commitUncommitted((positions) =>
        this.consumer.commitOffsets(
          positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })),
        ),
      ).catch((error: unknown) => {
        this.logger.warn({ err: error, groupId: this.options.groupId }, 'final offset commit failed; read again');
      });
    }
    try {
      await this.consumer.disconnect();
    } finally {
      this.unregisterLinger();
    }
    this.isRunning = false;
  }
}

/**
 * A group consumer that commits a batch's offsets only after the handler resolved. Broker and
 * network errors are retried by the client (the consumer restarts itself); a handler error ends
 * the consumer and is reported through `onCrash`, so a dead loop means a dead process.
 */
export function createConsumer(connection: KafkaConnection, logger: Logger, options: ConsumerOptions): EventConsumer {
  const kafka = createKafkaClient(connection, logger);
  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.max(1_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 10)),
    maxWaitTimeInMs: options.maxWaitMs ?? 100,
    minBytes: options.minBytes ?? 1,
    maxBytesPerPartition: options.maxPartitionBytes ?? FETCH_MAX_PARTITION_BYTES,
    allowAutoTopicCreation: false,
    // Broker and network errors: retried, then the consumer restarts itself (an outage heals).
    // At most 2 s apart, so a consumer reads a moved partition within ~2 s of its new leader's
    // election (kafkajs-leader-failover.ts); 20 retries span about the 40 s that 8 up to 10 s did.
    retry: { retries: 20, initialRetryTime: 300, maxRetryTime: 2_000 },
  });
  return new KafkajsConsumer(
    consumer,
    options,
    logger.child({ component: 'kafka-consumer', groupId: options.groupId }),
  );
}
