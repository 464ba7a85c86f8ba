import {
  describeError,
  isPushtechError,
  type EventProducer,
  type Logger,
  type OutgoingMessage,
} from '@pushtech/runtime';
import { createBackoff, sleep } from './backoff.js';
import { deadLetterMessage } from './dead-letter.js';
import type { HitQueue, TakenBatch } from './hit-queue.js';
import type { KafkastoreMetrics } from './metrics.js';
import type { EntryOutcome } from './process-entry.js';

/** How long one blocking wait lasts before the loop looks at its state again. */
const BLOCK_SECONDS = 1;

/**
 * Bytes per produce request. A batch of large events is sent in several requests so it never
 * exceeds the broker's request limit (socket.request.max.bytes); normal batches fit in one.
 */
const REQUEST_BUDGET_BYTES = 8 * 1024 * 1024;

export interface DrainLoopDeps {
  readonly queue: HitQueue;
  readonly producer: EventProducer;
  readonly processEntry: (entry: string, now: number) => EntryOutcome;
  readonly metrics: KafkastoreMetrics;
  readonly logger: Logger;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly batchSize: number;
  readonly retryMaxMs: number;
  /** Dead letters carry the entry with its IP truncated (IP_ANONYMIZE=truncate). */
  readonly redactDeadLetters: boolean;
  /** Dead letters are cut to this size (see KAFKASTORE_MAX_MESSAGE_BYTES). */
  readonly maxMessageBytes: number;
  readonly now?: () => number;
}

export interface DrainLoop {
  /** Runs until stopped; rejects only on a bug (bad data and outages are handled inside). */
  run(): Promise<void>;
  /**
   * Finishes the batch in flight and ends `run`. With `drain`, first empties the incoming list,
   * for at most `drainTimeoutMs`; rejects when entries were left behind.
   */
  stop(options: { drain: boolean; drainTimeoutMs: number; drainQuietMs?: number }): Promise<void>;
  /** true when the last Kafka round trip succeeded, else why not (for readiness). */
  kafkaStatus(): true | string;
}

type Mode =
  | { kind: 'run' }
  | { kind: 'finish' }
  // quietMs: the list must stay empty this long before the drain ends, so events the tracker
  // still acknowledges while it shuts down (SIGTERM reaches both containers at once) are taken.
  | { kind: 'drain'; deadline: number; quietMs: number; emptySince?: number };

/**
 * Redis -> enrich -> Kafka, one batch at a time. A batch is moved atomically into this
 * instance's processing list, produced with acks=all (retried with backoff until Kafka takes
 * it, taking nothing new meanwhile), and only then trimmed from the processing list. Whatever a
 * crash leaves in the processing list is the first batch of the next run.
 */
export function createDrainLoop(deps: DrainLoopDeps): DrainLoop {
  const { queue, producer, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  let mode: Mode = { kind: 'run' };
  let kafka: true | string = 'not connected yet';
  let running: Promise<void> | undefined;
  let leftBehind = 0;

  interface Chunk {
    readonly events: OutgoingMessage[];
    readonly deadLetters: OutgoingMessage[];
    readonly klags: number[];
    readonly stages: string[];
    /** Index after the last entry in this chunk. */
    readonly end: number;
  }

  /** Processes entries from `start` until the request budget is used (at least one entry). */
  function build(entries: readonly string[], start: number, at: number): Chunk {
    const chunk: Chunk = { events: [], deadLetters: [], klags: [], stages: [], end: start };
    let bytes = 0;
    let i = start;
    for (; i < entries.length && (i === start || bytes < REQUEST_BUDGET_BYTES); i++) {
      const entry = entries[i] as string;
      const outcome = deps.processEntry(entry, at);
      if (outcome.kind === 'ok') {
        chunk.events.push({ key: outcome.key, value: outcome.value, headers: { id: outcome.id } });
        chunk.klags.push(outcome.klag);
        bytes += outcome.value.length;
      } else {
        const letter = deadLetterMessage({
          entry,
          error: outcome.error,
          originalTopic: deps.topic,
          id: outcome.id,
          redact: deps.redactDeadLetters,
          maxBytes: deps.maxMessageBytes,
        });
        chunk.deadLetters.push(letter);
        chunk.stages.push(outcome.stage);
        bytes += letter.value.length;
        logger.warn(
          { stage: outcome.stage, id: outcome.id, error: outcome.error.slice(0, 500) },
          'entry dead-lettered',
        );
      }
    }
    return { ...chunk, end: i };
  }

  /** Retries a Kafka step until it succeeds; anything but a Kafka error is a bug and escapes. */
  async function withKafkaRetry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const backoff = createBackoff({ initialMs: 100, maxMs: deps.retryMaxMs });
    for (;;) {
      try {
        const result = await attempt();
        if (kafka !== true) logger.info({ after: backoff.failures }, 'Kafka available again');
        kafka = true;
        return result;
      } catch (error: unknown) {
        if (!isPushtechError(error, 'PT_ERR_KAFKA_PRODUCE') && !isPushtechError(error, 'PT_ERR_KAFKA_CONNECT')) {
          throw error;
        }
        kafka = describeError(error);
        const pause = backoff.next();
        logger.warn(
          { what, attempt: backoff.failures, retryInMs: pause, err: kafka },
          'Kafka unavailable; retrying, taking nothing new from Redis',
        );
        await sleep(pause);
      }
    }
  }

  /**
   * Produces the batch, chunk by chunk, each retried until Kafka acknowledged it. A retry
   * rebuilds its chunk (so klag is the time of the attempt that made it) and never re-sends a
   * chunk that was already acknowledged.
   */
  async function deliver(entries: readonly string[]): Promise<void> {
    let start = 0;
    while (start < entries.length) {
      start = await withKafkaRetry('produce', async () => {
        const sentAt = now();
        const chunk = build(entries, start, sentAt);
        try {
          await producer.sendMany([
            { topic: deps.topic, messages: chunk.events },
            { topic: deps.deadLetterTopic, messages: chunk.deadLetters },
          ]);
        } catch (error: unknown) {
          metrics.produceFailures.inc();
          throw error;
        }
        metrics.produceLatencyMs.observe(now() - sentAt);
        metrics.eventsProduced.inc(chunk.events.length);
        for (const klag of chunk.klags) metrics.klagMs.observe(klag);
        for (const stage of chunk.stages) metrics.eventsDeadLettered.inc({ stage });
        return chunk.end;
      });
    }
  }

  /** Redis steps are retried the same way: ioredis reconnects underneath, the loop waits. */
  async function withRedisRetry<T>(what: string, step: () => Promise<T>): Promise<T> {
    const backoff = createBackoff({ initialMs: 50, maxMs: 2_000 });
    for (;;) {
      try {
        return await step();
      } catch (error: unknown) {
        const pause = backoff.next();
        logger.warn(
          { what, attempt: backoff.failures, retryInMs: pause, err: describeError(error) },
          'Redis command failed; retrying',
        );
        await sleep(pause);
      }
    }
  }

  /** Nothing is taken before Kafka answers; a stop while it never did has nothing to finish. */
  async function connectUnlessStopped(): Promise<boolean> {
    const backoff = createBackoff({ initialMs: 100, maxMs: deps.retryMaxMs });
    for (;;) {
      if (mode.kind !== 'run') return false;
      try {
        await producer.connect();
        kafka = true;
        return true;
      } catch (error: unknown) {
        if (!isPushtechError(error, 'PT_ERR_KAFKA_CONNECT')) throw error;
        kafka = describeError(error);
        const pause = backoff.next();
        logger.warn({ attempt: backoff.failures, retryInMs: pause, err: kafka }, 'cannot connect to Kafka; retrying');
        await sleep(pause);
      }
    }
  }

  function limit(): number {
    if (mode.kind === 'finish') return 0;
    if (mode.kind === 'drain' && now() > mode.deadline) return 0;
    return deps.batchSize;
  }

  async function loop(): Promise<void> {
    if (!(await connectUnlessStopped())) return;
    logger.info({ topic: deps.topic, deadLetterTopic: deps.deadLetterTopic }, 'draining');
    for (;;) {
      const batch: TakenBatch = await withRedisRetry('take a batch', () => queue.take(limit()));
      metrics.queueDepth.set(batch.queueDepth);
      metrics.processingDepth.set(batch.entries.length);
      if (batch.entries.length === 0) {
        if (mode.kind === 'drain' && batch.queueDepth === 0 && now() <= mode.deadline) {
          mode.emptySince ??= now();
          if (now() - mode.emptySince < mode.quietMs) {
            await sleep(20);
            continue;
          }
        }
        if (mode.kind !== 'run') {
          leftBehind = batch.queueDepth;
          return;
        }
        await withRedisRetry('wait for entries', () => queue.waitForEntries(BLOCK_SECONDS));
        continue;
      }
      if (batch.leftover > 0) {
        logger.info(
          { entries: batch.leftover },
          'producing entries found in the processing list (left by a crash or a lost Redis reply)',
        );
        metrics.eventsReplayed.inc(batch.leftover);
      }
      if (mode.kind === 'drain') delete mode.emptySince;
      metrics.batchSize.observe(batch.entries.length);
      await deliver(batch.entries);
      await withRedisRetry('remove the produced batch', () => queue.ack(batch.entries.length));
      metrics.processingDepth.set(0);
    }
  }

  return {
    run() {
      running ??= loop();
      return running;
    },
    async stop(options) {
      mode = options.drain
        ? { kind: 'drain', deadline: now() + options.drainTimeoutMs, quietMs: options.drainQuietMs ?? 0 }
        : { kind: 'finish' };
      await queue.wake().catch(() => undefined);
      if (running) await running;
      if (options.drain && leftBehind > 0) {
        throw new Error(`drain timed out after ${options.drainTimeoutMs} ms with ${leftBehind} entries left in Redis`);
      }
    },
    kafkaStatus: () => kafka,
  };
}
