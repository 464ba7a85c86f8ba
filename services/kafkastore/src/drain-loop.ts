import {
  describeError,
  isPushtechError,
  type EventProducer,
  type Logger,
  type OutgoingMessage,
} from '@pushtech/runtime';
import { createBackoff, sleep } from './backoff.js';
import { deadLetterMessage } from './dead-letter.js';
import type { HitQueue } from './hit-queue.js';
import type { KafkastoreMetrics } from './metrics.js';
import type { EntryOutcome } from './process-entry.js';

/** How long one blocking wait lasts before the loop looks at its state again. */
const BLOCK_SECONDS = 1;

/**
 * Bytes per produce request. A batch of large events is sent in several requests so it never
 * exceeds the broker's request limit (socket.request.max.bytes); normal batches fit in one.
 */
const REQUEST_BUDGET_BYTES = 8 * 1024 * 1024;

/**
 * A chunk built while the previous batch was in flight is sent as built only this soon after:
 * its klag was computed then. Older ones (Kafka was slow or down meanwhile) are built again.
 */
const PREBUILT_MAX_AGE_MS = 50;

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
 * it), and only then trimmed from the processing list. Whatever a crash leaves in the
 * processing list is produced first by the next run, a batch at a time.
 *
 * While Kafka works on a batch and more entries wait, the next batch is already moved into the
 * processing list and built, so the process does not sit idle during the round trip. It is sent
 * only after the batch before it was acknowledged and trimmed: one batch at most is ever sent
 * and not yet trimmed, so a crash repeats at most one batch.
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
    /** When its klags were computed. */
    readonly builtAt: number;
  }

  /** Entries to produce next (oldest first), with their first chunk when built ahead. */
  interface Batch {
    readonly entries: readonly string[];
    readonly queueDepth: number;
    readonly first?: Chunk;
  }

  /** Processes entries from `start` until the request budget is used (at least one entry). */
  function build(entries: readonly string[], start: number, at: number): Chunk {
    const chunk: Chunk = { events: [], deadLetters: [], klags: [], stages: [], end: start, builtAt: at };
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
   * chunk that was already acknowledged. `prebuilt` is the first chunk, built ahead.
   */
  async function deliver(entries: readonly string[], prebuilt?: Chunk): Promise<void> {
    let start = 0;
    let ready = prebuilt;
    while (start < entries.length) {
      start = await withKafkaRetry('produce', async () => {
        const fresh = ready !== undefined && now() - ready.builtAt <= PREBUILT_MAX_AGE_MS;
        const chunk = fresh && ready !== undefined ? ready : build(entries, start, now());
        ready = undefined;
        const sentAt = now();
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

  /**
   * Takes and builds the next batch while the one of `inFlight` entries is being produced. A
   * failure only means the next `take` finds in the processing list whatever this moved.
   */
  async function takeAhead(inFlight: number): Promise<Batch | undefined> {
    const want = limit();
    if (want === 0) return undefined;
    try {
      const taken = await queue.takeMore(inFlight, want);
      metrics.queueDepth.set(taken.queueDepth);
      if (taken.entries.length === 0) return undefined;
      return { ...taken, first: build(taken.entries, 0, now()) };
    } catch (error: unknown) {
      logger.debug({ err: describeError(error) }, 'could not take the next batch ahead; taking it afterwards');
      return undefined;
    }
  }

  /**
   * Taking ahead pays only with a backlog of at least a full batch. With less waiting, the next
   * take after the ack finds what arrived meanwhile, in one batch instead of two smaller ones,
   * which costs less per event when the process shares its CPU (the pipeline at moderate load).
   */
  function backlogged(queueDepth: number): boolean {
    return queueDepth >= deps.batchSize;
  }

  /** Produces `entries` and trims them from the processing list, taking the next batch meanwhile. */
  async function produceAndTrim(batch: Batch, takeNext: boolean): Promise<Batch | undefined> {
    metrics.batchSize.observe(batch.entries.length);
    const delivering = deliver(batch.entries, batch.first);
    // Started after the send, so the Redis round trip and the building overlap Kafka's work.
    const ahead = takeNext ? takeAhead(batch.entries.length) : undefined;
    await delivering;
    await withRedisRetry('remove the produced batch', () => queue.ack(batch.entries));
    const next = await ahead;
    metrics.processingDepth.set(next?.entries.length ?? 0);
    return next;
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
    let next: Batch | undefined;
    for (;;) {
      if (next !== undefined) {
        if (mode.kind === 'drain') delete mode.emptySince;
        next = await produceAndTrim(next, backlogged(next.queueDepth));
        continue;
      }
      const batch = await withRedisRetry('take a batch', () => queue.take(limit()));
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
      if (batch.entries.length <= deps.batchSize) {
        next = await produceAndTrim(batch, backlogged(batch.queueDepth));
        continue;
      }
      // A crash while the next batch was already taken leaves up to two batches. They are
      // produced a batch at a time, so a crash now still repeats at most one batch.
      for (let from = 0; from < batch.entries.length; from += deps.batchSize) {
        const entries = batch.entries.slice(from, from + deps.batchSize);
        await produceAndTrim({ entries, queueDepth: 0 }, false);
      }
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
