import { describeError, type IncomingBatch, type Logger } from '@pushtech/runtime';
import { pause, retryDelayMs, type RetryPolicy } from './backoff.js';
import { findUndecodable, KafkaConsumedEvent, type ConsumedEvent, type SharedDecodes } from './consumed-event.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { countDeadLetters } from './consumer-metrics.js';
import type { DeadLetter, DeadLetterSink } from './dead-letter.js';
import { classifyInfrastructureError, failureSignature } from './infrastructure-errors.js';
import type { OutageReason, OutageTracker } from './outage.js';

export interface BatchProcessorDeps {
  readonly consumer: string;
  readonly handle: (events: readonly ConsumedEvent[]) => Promise<void>;
  /**
   * Throws when a dependency of the handler cannot be used now: a probe that really writes (see
   * ConsumerDefinition.checkDependencies). Asked before anything is dead-lettered and before
   * each new attempt at a batch held by an outage.
   */
  readonly checkDependencies: () => Promise<void>;
  readonly deadLetters: DeadLetterSink;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
  /** Keeps the group membership; its error (the group is rebalancing) is rethrown as it is. */
  readonly heartbeat: () => Promise<void>;
  readonly metrics: ConsumerMetrics;
  readonly logger: Logger;
  readonly outages: OutageTracker;
  /** The decoded events this process's consumers share, when it runs more than one. */
  readonly sharedDecodes?: SharedDecodes | undefined;
}

type Attempt = { ok: true } | { ok: false; error: unknown };

/** How one pass over a batch ended: every event handled or to be dead-lettered, or an outage. */
type Pass = { kind: 'done'; failed: DeadLetter[] } | { kind: 'outage'; reason: OutageReason; error: unknown };

/**
 * One batch (the batches of a fetch's partitions as one, each partition's events in offset
 * order), at-least-once: hand the events to the handler with retries and backoff, and when
 * the batch keeps failing, isolate the events that fail on their own and dead-letter only those.
 * Resolves when every message is either handled or acknowledged by the dead-letter topic: only
 * then may the offsets be committed. Rejects (nothing committed) only when stopping, or when the
 * group is rebalancing (the heartbeat's error: the batch is read again by its next owner).
 *
 * An outage is not bad events: when an error points at the infrastructure (Redis refusing
 * writes, a lost connection, a full disk, an error the handler marked transient), when every
 * event of the batch fails alone the same way, or when the dependency probe fails, nothing is
 * dead-lettered or committed: the batch is held and tried again with backoff, heartbeating the
 * group, until it goes through. Only an event that fails alone while the probe passes, and not
 * the same way as all the others, is dead-lettered. Events are decoded when the handler reads
 * them (see ConsumedEvent): an undecodable message is set aside at once and the handler runs
 * again without it.
 */
export async function processBatch(batches: readonly IncomingBatch[], deps: BatchProcessorDeps): Promise<void> {
  const events: KafkaConsumedEvent[] = [];
  for (const batch of batches)
    for (const message of batch.messages) events.push(new KafkaConsumedEvent(message, deps.sharedDecodes));
  const undecodable: DeadLetter[] = [];
  const undecodableEvents = new Set<KafkaConsumedEvent>();
  /** Runs the handler, setting aside each undecodable event it reads and running it again without. */
  const handleDecodable = async (list: readonly KafkaConsumedEvent[]): Promise<void> => {
    let current = undecodableEvents.size === 0 ? list : list.filter((e) => !undecodableEvents.has(e));
    for (;;) {
      if (current.length === 0) return;
      try {
        await deps.handle(current);
        return;
      } catch (error: unknown) {
        const found = findUndecodable(error);
        const poison = found?.event;
        if (!found || !(poison instanceof KafkaConsumedEvent) || !current.includes(poison)) throw error;
        undecodableEvents.add(poison);
        undecodable.push({ message: poison.kafkaMessage, reason: 'undecodable', error: found.reason });
        current = current.filter((e) => e !== poison);
      }
    }
  };
  const pending = (): KafkaConsumedEvent[] => events.filter((e) => !undecodableEvents.has(e));

  // The outage's key: the partitions held together.
  const partition = batches.map((b) => `${b.topic}:${b.partition}`).join(',');
  let pass = await handleBatchOnce(events, handleDecodable, pending, deps, deps.retry.maxRetries, false);
  for (let retry = 1; pass.kind === 'outage'; retry += 1) {
    deps.outages.hold(partition, pass.reason, pass.error);
    pass = await retryAfterOutage(events, handleDecodable, pending, deps, retry).catch((error: unknown) => {
      deps.outages.release(partition, 'abandoned');
      throw error;
    });
  }
  deps.outages.release(partition, 'recovered');

  const letters = [...undecodable, ...pass.failed];
  if (letters.length > 0) {
    await deps.deadLetters.send(letters, deps.consumer);
    for (const letter of letters) {
      deps.logger.warn(
        {
          reason: letter.reason,
          err: letter.error,
          partition: letter.message.partition,
          offset: letter.message.offset,
        },
        'message dead-lettered',
      );
    }
    countDeadLetters(deps.metrics, deps.consumer, 'undecodable', undecodable.length);
    countDeadLetters(deps.metrics, deps.consumer, 'handler_failed', pass.failed.length);
  }
  deps.metrics.eventsHandled.inc({ consumer: deps.consumer }, events.length - letters.length);
}

/** A held batch: wait, keep the group, probe, and only when the probe passes try the batch again. */
async function retryAfterOutage(
  events: readonly KafkaConsumedEvent[],
  handle: (events: readonly KafkaConsumedEvent[]) => Promise<void>,
  pending: () => KafkaConsumedEvent[],
  deps: BatchProcessorDeps,
  retry: number,
): Promise<Pass> {
  await pause(retryDelayMs(deps.retry, retry), deps.signal);
  await deps.heartbeat();
  deps.outages.retried();
  const down = await probe(deps);
  if (down) return down;
  // The loop around is the retry: one attempt at the whole batch, then isolation if needed.
  return handleBatchOnce(events, handle, pending, deps, 0, true);
}

/**
 * One pass: the whole batch with `retries`, then, if it keeps failing, each event alone.
 * Returns the events to dead-letter, or the outage that holds the batch.
 */
async function handleBatchOnce(
  events: readonly KafkaConsumedEvent[],
  handle: (events: readonly KafkaConsumedEvent[]) => Promise<void>,
  pending: () => KafkaConsumedEvent[],
  deps: BatchProcessorDeps,
  retries: number,
  held: boolean,
): Promise<Pass> {
  const whole = await withRetries(events, handle, deps, retries);
  if (whole.ok) return { kind: 'done', failed: [] };
  const infrastructure = outageOf(whole.error);
  if (infrastructure) return infrastructure;
  // At warn once per batch; a held batch would say it on every retry.
  deps.logger[held ? 'debug' : 'warn'](
    { err: whole.error, events: events.length, partition: events[0]?.source.partition },
    'batch keeps failing; handling its events one by one to find the failing ones',
  );

  // Each event alone, once: an infrastructure error or all failing alike means an outage.
  const failures = new Map<KafkaConsumedEvent, unknown>();
  for (const event of pending()) {
    const alone = await withRetries([event], handle, deps, 0);
    if (alone.ok) continue;
    const outage = outageOf(alone.error);
    if (outage) return outage;
    failures.set(event, alone.error);
  }
  const considered = pending();
  if (considered.length > 1 && considered.every((e) => failures.has(e))) {
    const errors = [...failures.values()];
    if (new Set(errors.map(failureSignature)).size === 1) {
      return { kind: 'outage', reason: 'same_error', error: errors[0] };
    }
  }

  // Those that failed, again with retries: a flaky handler is not a poison event.
  const failed: DeadLetter[] = [];
  for (const [event] of failures) {
    const alone = await withRetries([event], handle, deps, retries);
    if (alone.ok) continue;
    const outage = outageOf(alone.error);
    if (outage) return outage;
    failed.push({ message: event.kafkaMessage, reason: 'handler_failed', error: describeError(alone.error) });
  }
  // Nothing is dead-lettered while a dependency is down; for a batch of one event, whose
  // failure cannot be compared with others, this probe is what tells an outage.
  if (failed.length > 0) {
    const down = await probe(deps);
    if (down) return down;
  }
  return { kind: 'done', failed };
}

/** An outage when the dependency probe fails, with the probe's error. */
async function probe(deps: BatchProcessorDeps): Promise<Pass | undefined> {
  try {
    await deps.checkDependencies();
    return undefined;
  } catch (error: unknown) {
    return outageOf(error) ?? { kind: 'outage', reason: 'dependency_down', error };
  }
}

function outageOf(error: unknown): Pass | undefined {
  const infrastructure = classifyInfrastructureError(error);
  return infrastructure ? { kind: 'outage', reason: infrastructure.reason, error } : undefined;
}

/** Up to `retries` more attempts with backoff; stops early on an infrastructure error. */
async function withRetries(
  events: readonly KafkaConsumedEvent[],
  handle: (events: readonly KafkaConsumedEvent[]) => Promise<void>,
  deps: BatchProcessorDeps,
  retries: number,
): Promise<Attempt> {
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    if (attempt > 0) {
      await pause(retryDelayMs(deps.retry, attempt), deps.signal);
      await deps.heartbeat();
    }
    try {
      await handle(events);
      return { ok: true };
    } catch (error: unknown) {
      lastError = error;
      deps.metrics.handlerFailures.inc({ consumer: deps.consumer });
      deps.logger.debug({ err: error, attempt, events: events.length }, 'handler failed');
      if (classifyInfrastructureError(error)) break;
    }
  }
  return { ok: false, error: lastError };
}
