import {
  PushtechError,
  RECORD_BATCH_OVERHEAD,
  describeError,
  isPushtechError,
  javaKeyPartition,
  recordBytes,
  type EventProducer,
  type Logger,
  type OutgoingMessage,
  type TopicLimits,
} from '@pushtech/runtime';
import { createBackoff, sleep } from './backoff.js';
import { deadLetterMessage, type DeadLetterStage } from './dead-letter.js';
import type { HitQueue, TakenBatch } from './hit-queue.js';
import type { KafkastoreMetrics } from './metrics.js';
import type { EntryOutcome } from './process-entry.js';

/** How long one blocking wait lasts before the loop looks at its state again. */
const BLOCK_SECONDS = 1;

/**
 * Bytes per round of produce requests (one request per partition, sent together). A batch of
 * large events is sent in several rounds so it never holds much more in memory at once; normal
 * batches fit in one.
 */
const REQUEST_BUDGET_BYTES = 8 * 1024 * 1024;

/**
 * A chunk built while the previous batch was in flight is sent as built only this soon after:
 * its klag was computed then. Older ones (Kafka was slow or down meanwhile) are built again.
 */
const PREBUILT_MAX_AGE_MS = 50;

/**
 * What a record batch of one event adds to its message: the batch header, the record's own
 * fields at their widest and the `id` header (a ULID). The event's key comes on top.
 */
const EVENT_RECORD_OVERHEAD =
  RECORD_BATCH_OVERHEAD + recordBytes({ key: null, value: '', headers: { id: '01JD0000000000000000000000' } });

export interface DrainLoopDeps {
  readonly queue: HitQueue;
  readonly producer: EventProducer;
  readonly processEntry: (entry: string, now: number) => EntryOutcome;
  readonly metrics: KafkastoreMetrics;
  readonly logger: Logger;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly batchSize: number;
  /**
   * After a take that found less than a batch (and no backlog), the next take waits until this
   * long after it: at moderate rates a batch then holds the events of a linger rather than of
   * one Kafka round trip. 0: take again as soon as the batch is produced.
   */
  readonly lingerMs: number;
  readonly retryMaxMs: number;
  /** Dead letters carry the entry with its IP truncated (IP_ANONYMIZE=truncate). */
  readonly redactDeadLetters: boolean;
  /** The event size limit (EVENT_MAX_MESSAGE_BYTES): checked at start against the topic's. */
  readonly eventMaxBytes: number;
  /** Partitions and max.message.bytes of the events and dead-letter topics, read from the broker. */
  readonly topicLimits: () => Promise<{ events: TopicLimits; deadLetters: TopicLimits }>;
  /** Keeps entries whole that Kafka cannot take, not even as dead letters (the oversized list). */
  readonly park: (entries: readonly string[]) => Promise<void>;
  /** The oversized list's Redis key, for logs. */
  readonly oversizedKey: string;
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

/**
 * The drain on exit ends when no tracker may still write: none holds a live lease in the
 * writers set (`writersKey`) and the list is empty. quietMs is the fallback for trackers that
 * hold no lease (older ones): unless a lease was seen, the list must also stay empty this long,
 * so events such a tracker still acknowledges while it shuts down beside kafkastore are taken.
 */
interface DrainMode {
  kind: 'drain';
  deadline: number;
  quietMs: number;
  emptySince?: number;
  writersSeen?: boolean;
}

type Mode = { kind: 'run' } | { kind: 'finish' } | DrainMode;

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
 *
 * At moderate rates the loop lingers: a take that found less than a full batch and no backlog
 * is followed by the next one only `lingerMs` later (sooner when, at the rate the entries came
 * in, a full batch will be waiting before that). So every produce request carries the events of
 * a linger, not the few of one round trip, and an event waits at most the linger longer. What a
 * take finds is produced at once: a full batch, a backlog, the first entries after an idle spell
 * (a lone event is not held back) and the drain on exit never wait for the timer.
 */
export function createDrainLoop(deps: DrainLoopDeps): DrainLoop {
  const { queue, producer, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  let mode: Mode = { kind: 'run' };
  let kafka: true | string = 'not connected yet';
  let running: Promise<void> | undefined;
  let leftBehind = 0;
  /** Ends the linger early (stop). */
  let endLinger: (() => void) | undefined;

  /** A topic as the loop sends to it: partitions and the largest record batch the broker takes. */
  interface TopicLayout {
    readonly name: string;
    readonly partitions: number;
    readonly maxMessageBytes: number;
    /** Bytes of records one partition's batch may carry: the limit less the batch header. */
    readonly partitionBudget: number;
    /** The next partition of a keyless message (round-robin). */
    next: number;
  }

  /** One entry's message, on its way to a partition of the events or the dead-letter topic. */
  interface Item {
    readonly entry: string;
    readonly id: string | undefined;
    kind: 'event' | 'dead-letter';
    /** Where a dead letter was refused (decode, encode, size, kafka); '' for an event. */
    stage: DeadLetterStage | '';
    message: OutgoingMessage;
    topic: TopicLayout;
    partition: number;
    bytes: number;
    klag: number;
    /**
     * Most records sent with it in one request. A batch the broker refuses for good is sent
     * again in halves, then quarters, until the record it refuses is alone.
     */
    cap: number;
    /** Position in the chunk: a partition's records are always sent in this order. */
    seq: number;
  }

  /** An entry Kafka cannot take even as a dead letter: kept whole in the oversized list. */
  interface Parked {
    readonly entry: string;
    readonly id: string | undefined;
    readonly reason: string;
  }

  interface Chunk {
    readonly items: Item[];
    readonly parked: Parked[];
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

  /** Known once Kafka answered (connectUnlessStopped); every chunk is built after that. */
  let events: TopicLayout | undefined;
  let deadLetters: TopicLayout | undefined;
  const keyBytes = Buffer.allocUnsafe(1024);

  /** The Java client's partition for a key (so per-key order holds whichever client wrote), else round-robin. */
  function partitionFor(topic: TopicLayout, key: string | Buffer | null | undefined): number {
    if (key === null || key === undefined) {
      const partition = topic.next;
      topic.next = (partition + 1) % topic.partitions;
      return partition;
    }
    if (typeof key !== 'string') return javaKeyPartition(key, topic.partitions);
    const bytes = key.length * 3 <= keyBytes.length ? keyBytes.subarray(0, keyBytes.write(key)) : Buffer.from(key);
    return javaKeyPartition(bytes, topic.partitions);
  }

  function layouts(): { events: TopicLayout; deadLetters: TopicLayout } {
    if (events === undefined || deadLetters === undefined) throw new Error('bug: a chunk built before Kafka answered');
    return { events, deadLetters };
  }

  /**
   * The dead letter of `entry`, whole; when the dead-letter topic cannot take it either, the
   * entry is parked instead (never cut short: it was acknowledged to a client).
   */
  function deadLetterItem(
    entry: string,
    reason: { stage: DeadLetterStage; error: string; id: string | undefined },
    parked: Parked[],
  ): Item | undefined {
    const topic = layouts().deadLetters;
    const message = deadLetterMessage({
      entry,
      stage: reason.stage,
      error: reason.error,
      originalTopic: deps.topic,
      id: reason.id,
      redact: deps.redactDeadLetters,
      now: now(),
    });
    const bytes = recordBytes(message);
    if (bytes > topic.partitionBudget) {
      parked.push({
        entry,
        id: reason.id,
        reason: `${reason.error}; as a dead letter it is ${bytes} bytes, above ${topic.name}'s max.message.bytes=${topic.maxMessageBytes}`,
      });
      return undefined;
    }
    logger.warn({ stage: reason.stage, id: reason.id, error: reason.error.slice(0, 500) }, 'entry dead-lettered');
    const partition = partitionFor(topic, null);
    return {
      entry,
      id: reason.id,
      kind: 'dead-letter',
      stage: reason.stage,
      message,
      topic,
      partition,
      bytes,
      klag: 0,
      cap: Infinity,
      seq: 0,
    };
  }

  /** The item of one entry: its event, its dead letter, or nothing when it had to be parked. */
  function itemOf(entry: string, at: number, parked: Parked[]): Item | undefined {
    const outcome = deps.processEntry(entry, at);
    if (outcome.kind !== 'ok')
      return deadLetterItem(entry, { stage: outcome.stage, error: outcome.error, id: outcome.id }, parked);
    const topic = layouts().events;
    const message: OutgoingMessage = { key: outcome.key, value: outcome.value, headers: { id: outcome.id } };
    const bytes = recordBytes(message);
    if (bytes > topic.partitionBudget) {
      // Only when the topic's limit fell below the event limit after the start, or an older tracker.
      const error = `the event's Kafka record is ${bytes} bytes, above ${topic.name}'s max.message.bytes=${topic.maxMessageBytes}`;
      return deadLetterItem(entry, { stage: 'size', error, id: outcome.id }, parked);
    }
    const partition = partitionFor(topic, outcome.key);
    return {
      entry,
      id: outcome.id,
      kind: 'event',
      stage: '',
      message,
      topic,
      partition,
      bytes,
      klag: outcome.klag,
      cap: Infinity,
      seq: 0,
    };
  }

  /**
   * Processes entries from `start` while they fit one round of produce requests (at least one
   * entry): each partition's records below its topic's max.message.bytes (the broker applies it
   * to each partition's record batch, not to single messages), all of them below the request
   * budget.
   */
  function build(entries: readonly string[], start: number, at: number): Chunk {
    const items: Item[] = [];
    const parked: Parked[] = [];
    const perPartition = new Map<string, number>();
    let total = 0;
    let i = start;
    for (; i < entries.length; i++) {
      const before = parked.length;
      const item = itemOf(entries[i] as string, at, parked);
      if (item === undefined) continue;
      const slot = `${item.topic.name}\u0000${item.partition}`;
      const used = perPartition.get(slot) ?? 0;
      if (i > start && (used + item.bytes > item.topic.partitionBudget || total + item.bytes > REQUEST_BUDGET_BYTES)) {
        // The next chunk processes this entry again; undo its round-robin step and parking.
        if (item.message.key === null || item.message.key === undefined) {
          item.topic.next = (item.topic.next + item.topic.partitions - 1) % item.topic.partitions;
        }
        parked.length = before;
        break;
      }
      perPartition.set(slot, used + item.bytes);
      total += item.bytes;
      item.seq = items.length;
      items.push(item);
    }
    return { items, parked, end: i, builtAt: at };
  }

  /** One produce round: per partition its first items, as many as the first one's cap allows. */
  function roundOf(pending: readonly Item[]): { groups: Item[][]; later: Item[] } {
    const bySlot = new Map<string, Item[]>();
    const later: Item[] = [];
    for (const item of pending) {
      const slot = `${item.topic.name}\u0000${item.partition}`;
      const group = bySlot.get(slot);
      if (group === undefined) bySlot.set(slot, [item]);
      else if (group.length < Math.min((group[0] as Item).cap, item.cap)) group.push(item);
      else later.push(item);
    }
    return { groups: [...bySlot.values()], later };
  }

  function acknowledged(items: readonly Item[]): void {
    for (const item of items) {
      if (item.kind === 'event') {
        metrics.eventsProduced.inc();
        metrics.klagMs.observe(item.klag);
      } else {
        metrics.eventsDeadLettered.inc({ stage: item.stage });
      }
    }
  }

  /** A retried event is built again, so its klag is the time of the attempt that delivers it. */
  function rebuild(item: Item): void {
    if (item.kind !== 'event') return;
    const outcome = deps.processEntry(item.entry, now());
    if (outcome.kind !== 'ok') return;
    item.message = { key: outcome.key, value: outcome.value, headers: { id: outcome.id } };
    item.bytes = recordBytes(item.message);
    item.klag = outcome.klag;
  }

  /**
   * Sends a chunk until every item is acknowledged, dead-lettered or parked. Each partition's
   * records go in their own request, so the broker's answer is known per partition: what it
   * acknowledged is never sent again; a retriable refusal (leader moving, replicas missing,
   * Kafka down) is retried with backoff; a refusal no retry can change (too large, invalid,
   * corrupt: the records are at fault) sends the partition's records again in halves (a batch too large
   * as a whole), down to the one the broker refuses alone, which is dead-lettered whole with
   * the reason.
   */
  async function sendChunk(chunk: Chunk): Promise<void> {
    const parked = [...chunk.parked];
    let pending = chunk.items;
    const backoff = createBackoff({ initialMs: 100, maxMs: deps.retryMaxMs });
    while (pending.length > 0) {
      const { groups, later } = roundOf(pending);
      const sentAt = now();
      const outcomes = await producer.produce(
        groups.map((g) => ({
          topic: (g[0] as Item).topic.name,
          partition: (g[0] as Item).partition,
          messages: g.map((item) => item.message),
        })),
      );
      const next = later;
      let retry: string | undefined;
      let failed = false;
      for (const [i, outcome] of outcomes.entries()) {
        const group = groups[i] as Item[];
        if (outcome.kind === 'acked') {
          acknowledged(group);
          continue;
        }
        failed = true;
        const { error } = outcome;
        if (error.retriable) {
          retry ??= `${outcome.topic}/${outcome.partition}: ${error.code}: ${error.message}`;
          next.push(...group);
        } else if (group.length > 1) {
          const half = Math.ceil(group.length / 2);
          for (const item of group) item.cap = half;
          next.push(...group);
        } else {
          const item = group[0] as Item;
          const reason = `Kafka refused the ${item.kind === 'event' ? 'event' : 'dead letter'} (${error.code}): ${error.message}`;
          if (item.kind === 'event') {
            const letter = deadLetterItem(item.entry, { stage: 'kafka', error: reason, id: item.id }, parked);
            if (letter !== undefined) next.push({ ...letter, seq: item.seq });
          } else {
            parked.push({ entry: item.entry, id: item.id, reason });
          }
        }
      }
      if (failed) metrics.produceFailures.inc();
      else metrics.produceLatencyMs.observe(now() - sentAt);
      if (retry !== undefined) {
        kafka = retry;
        const pause = backoff.next();
        logger.warn(
          { what: 'produce', attempt: backoff.failures, retryInMs: pause, err: retry, waiting: next.length },
          'Kafka unavailable; retrying what it did not acknowledge, taking nothing new from Redis',
        );
        await sleep(pause);
        for (const item of next) rebuild(item);
      } else {
        if (kafka !== true) logger.info({ after: backoff.failures }, 'Kafka available again');
        kafka = true;
      }
      pending = next.sort((a, b) => a.seq - b.seq);
    }
    if (parked.length > 0) await park(parked);
  }

  /** Keeps entries Kafka cannot take in the oversized list: whole, counted, logged with their id. */
  async function park(parked: readonly Parked[]): Promise<void> {
    await withRedisRetry('park entries Kafka cannot take', () => deps.park(parked.map((p) => p.entry)));
    for (const p of parked) {
      metrics.eventsParked.inc();
      logger.warn(
        { id: p.id, error: p.reason.slice(0, 500), list: deps.oversizedKey },
        'entry kept in the oversized list',
      );
    }
  }

  /**
   * Produces the batch, chunk by chunk. A retry rebuilds its events (so klag is the time of the
   * attempt that made them) and never re-sends what was already acknowledged. `prebuilt` is the
   * first chunk, built ahead.
   */
  async function deliver(entries: readonly string[], prebuilt?: Chunk): Promise<void> {
    let start = 0;
    let ready = prebuilt;
    while (start < entries.length) {
      const fresh = ready !== undefined && now() - ready.builtAt <= PREBUILT_MAX_AGE_MS;
      const chunk = fresh && ready !== undefined ? ready : build(entries, start, now());
      ready = undefined;
      await sendChunk(chunk);
      start = chunk.end;
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
      logger.debug({ err: error }, 'could not take the next batch ahead; taking it afterwards');
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
        // Another instance owns the list now: retrying could only take or trim its batches.
        if (isPushtechError(error, 'PT_ERR_LEASE_LOST')) throw error;
        const pause = backoff.next();
        logger.warn(
          { what, attempt: backoff.failures, retryInMs: pause, err: error },
          'Redis command failed; retrying',
        );
        await sleep(pause);
      }
    }
  }

  /**
   * Learns both topics' partitions and limits, and stops the service when an event as large as
   * EVENT_MAX_MESSAGE_BYTES would not fit the events topic: the tracker acknowledges such
   * events, and the broker would refuse every one of them.
   */
  async function readTopics(): Promise<void> {
    const limits = await deps.topicLimits();
    const layout = (t: TopicLimits): TopicLayout => ({
      name: t.topic,
      partitions: t.partitions,
      maxMessageBytes: t.maxMessageBytes,
      partitionBudget: t.maxMessageBytes - RECORD_BATCH_OVERHEAD,
      next: 0,
    });
    const needed = deps.eventMaxBytes + EVENT_RECORD_OVERHEAD;
    const { topic, maxMessageBytes, maxMessageBytesSource } = limits.events;
    if (needed > maxMessageBytes) {
      const source =
        maxMessageBytesSource === 'topic'
          ? 'set on the topic'
          : "the broker's message.max.bytes, not overridden on the topic";
      throw new PushtechError(
        'PT_ERR_CONFIG',
        `EVENT_MAX_MESSAGE_BYTES=${deps.eventMaxBytes} does not fit topic ${topic}: its max.message.bytes is ` +
          `${maxMessageBytes} (${source}), and one event of that size needs ${needed} bytes with its record ` +
          `overhead. Lower EVENT_MAX_MESSAGE_BYTES to at most ${maxMessageBytes - EVENT_RECORD_OVERHEAD} (tracker ` +
          `and kafkastore), or raise the topic's limit to at least ${needed} (kafka-configs.sh --alter ` +
          `--entity-type topics --entity-name ${topic} --add-config max.message.bytes=${needed})`,
      );
    }
    events = layout(limits.events);
    deadLetters = layout(limits.deadLetters);
    if (limits.deadLetters.maxMessageBytes < needed) {
      logger.warn(
        { deadLetterTopic: deadLetters.name, maxMessageBytes: deadLetters.maxMessageBytes, needed },
        'the dead-letter topic takes less than the largest event: such dead letters are kept in the oversized list',
      );
    }
    logger.info(
      {
        topic,
        partitions: events.partitions,
        maxMessageBytes,
        deadLetterTopic: deadLetters.name,
        deadLetterMaxMessageBytes: deadLetters.maxMessageBytes,
      },
      'topic limits read',
    );
  }

  /** Nothing is taken before Kafka answers; a stop while it never did has nothing to finish. */
  async function connectUnlessStopped(): Promise<boolean> {
    const backoff = createBackoff({ initialMs: 100, maxMs: deps.retryMaxMs });
    for (;;) {
      if (mode.kind !== 'run') return false;
      try {
        await producer.connect();
        await readTopics();
        kafka = true;
        return true;
      } catch (error: unknown) {
        if (!isPushtechError(error, 'PT_ERR_KAFKA_CONNECT') && !isPushtechError(error, 'PT_ERR_KAFKA_ADMIN'))
          throw error;
        kafka = describeError(error);
        const pause = backoff.next();
        logger.warn({ attempt: backoff.failures, retryInMs: pause, err: kafka }, 'cannot connect to Kafka; retrying');
        await sleep(pause);
      }
    }
  }

  /** Whether the drain on exit may end now that a take found both lists empty (see DrainMode). */
  async function drainMayEnd(drain: DrainMode): Promise<boolean> {
    const state = await withRedisRetry('read the writers', () => queue.drainState(now()));
    if (state.queueDepth > 0) {
      delete drain.emptySince;
      return false;
    }
    if (state.writers > 0) {
      if (drain.writersSeen !== true) {
        logger.info({ writers: state.writers }, 'drain: list empty, waiting for the trackers to stop writing');
      }
      drain.writersSeen = true;
      return false;
    }
    if (drain.writersSeen === true) return true;
    drain.emptySince ??= now();
    return now() - drain.emptySince >= drain.quietMs;
  }

  /** A drain cut by its deadline while a tracker still writes leaves what it writes next behind. */
  async function warnOfWritersLeft(): Promise<void> {
    const state = await queue.drainState(now()).catch(() => undefined);
    if (state !== undefined && state.writers > 0) {
      logger.warn(
        { writers: state.writers },
        'drain deadline reached while trackers still hold a writer lease; what they store from now on waits in Redis',
      );
    }
  }

  /**
   * How long after a take the next one waits: 0 after a full batch or with a backlog, else the
   * linger, or less when the entries, at the rate this take found them (`count` in `sinceLastMs`),
   * fill a batch sooner.
   */
  function lingerAfter(batch: TakenBatch, sinceLastMs: number): number {
    const count = batch.entries.length;
    if (deps.lingerMs === 0 || count >= deps.batchSize || backlogged(batch.queueDepth)) return 0;
    const fillMs = (deps.batchSize * Math.max(sinceLastMs, 1)) / count;
    return Math.min(deps.lingerMs, fillMs);
  }

  /** Waits until `at` (the linger after a partial take), unless the loop is stopping. */
  async function lingerUntil(at: number): Promise<void> {
    const wait = at - now();
    if (wait <= 0 || mode.kind !== 'run') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        endLinger = undefined;
        resolve();
      }, wait);
      endLinger = () => {
        clearTimeout(timer);
        endLinger = undefined;
        resolve();
      };
    });
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
    // The entry the last wait moved into the processing list itself: not a leftover.
    let movedByWait = 0;
    // The linger: no partial batch is taken before this time.
    let takeNotBefore = 0;
    let lastTakeAt = now();
    for (;;) {
      if (next !== undefined) {
        if (mode.kind === 'drain') delete mode.emptySince;
        next = await produceAndTrim(next, backlogged(next.queueDepth));
        continue;
      }
      await lingerUntil(takeNotBefore);
      const takenAt = now();
      const batch = await withRedisRetry('take a batch', () => queue.take(limit()));
      metrics.queueDepth.set(batch.queueDepth);
      metrics.processingDepth.set(batch.entries.length);
      if (batch.entries.length === 0) {
        if (mode.kind === 'drain' && batch.queueDepth === 0) {
          if (now() <= mode.deadline && !(await drainMayEnd(mode))) {
            await sleep(20);
            continue;
          }
          if (now() > mode.deadline) await warnOfWritersLeft();
        }
        if (mode.kind !== 'run') {
          leftBehind = batch.queueDepth;
          return;
        }
        movedByWait = (await withRedisRetry('wait for entries', () => queue.waitForEntries(BLOCK_SECONDS))) ? 1 : 0;
        takeNotBefore = 0;
        continue;
      }
      takeNotBefore = takenAt + lingerAfter(batch, takenAt - lastTakeAt);
      lastTakeAt = takenAt;
      const leftover = batch.leftover - movedByWait;
      movedByWait = 0;
      if (leftover > 0) {
        logger.info(
          { entries: leftover },
          'producing entries found in the processing list (left by a crash or a lost Redis reply)',
        );
        metrics.eventsReplayed.inc(leftover);
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
      endLinger?.();
      await queue.wake().catch(() => undefined);
      if (running) await running;
      if (options.drain && leftBehind > 0) {
        throw new Error(`drain timed out after ${options.drainTimeoutMs} ms with ${leftBehind} entries left in Redis`);
      }
    },
    kafkaStatus: () => kafka,
  };
}
