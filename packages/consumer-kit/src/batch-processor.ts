import { describeError, type IncomingBatch, type Logger } from '@pushtech/runtime';
import { pause, retryDelayMs, type RetryPolicy } from './backoff.js';
import { findUndecodable, KafkaConsumedEvent, type ConsumedEvent } from './consumed-event.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { countDeadLetters } from './consumer-metrics.js';
import type { DeadLetter, DeadLetterSink } from './dead-letter.js';
import { ConsumerKitError } from './errors.js';

export interface BatchProcessorDeps {
  readonly consumer: string;
  readonly handle: (events: readonly ConsumedEvent[]) => Promise<void>;
  /** Throws when a dependency of the handler is down (see ConsumerDefinition.checkDependencies). */
  readonly checkDependencies: () => Promise<void>;
  readonly deadLetters: DeadLetterSink;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
  readonly heartbeat: () => Promise<void>;
  readonly metrics: ConsumerMetrics;
  readonly logger: Logger;
}

type Attempt = { ok: true } | { ok: false; error: unknown };

/**
 * One batch, at-least-once: hand the events to the handler with retries and backoff, and when
 * the batch keeps failing, isolate the events that fail on their own and dead-letter only those.
 * Events are decoded when the handler reads them (see ConsumedEvent): a message that turns out
 * undecodable is dead-lettered at once and the handler runs again without it. Resolves when
 * every message is either handled or acknowledged by the dead-letter topic: only then may the
 * offsets be committed. Rejects (nothing committed) when stopping, or when the handler's
 * dependencies are down (an outage, not bad events).
 */
export async function processBatch(batch: IncomingBatch, deps: BatchProcessorDeps): Promise<void> {
  const events: KafkaConsumedEvent[] = batch.messages.map((message) => new KafkaConsumedEvent(message));
  const letters: DeadLetter[] = [];
  const undecodable = new Set<KafkaConsumedEvent>();
  /** Runs the handler, dropping each undecodable event it reads and running it again without. */
  const handleDecodable = async (list: readonly KafkaConsumedEvent[]): Promise<void> => {
    let current = undecodable.size === 0 ? list : list.filter((e) => !undecodable.has(e));
    for (;;) {
      if (current.length === 0) return;
      try {
        await deps.handle(current);
        return;
      } catch (error: unknown) {
        const found = findUndecodable(error);
        const poison = found?.event;
        if (!found || !(poison instanceof KafkaConsumedEvent) || !current.includes(poison)) throw error;
        undecodable.add(poison);
        letters.push({ message: poison.kafkaMessage, reason: 'undecodable', error: found.reason });
        current = current.filter((e) => e !== poison);
      }
    }
  };

  const failed: DeadLetter[] = [];
  if (events.length > 0) {
    const whole = await withRetries(events, handleDecodable, deps);
    if (!whole.ok) {
      await assertNoOutage(deps, whole.error);
      deps.logger.warn(
        { err: describeError(whole.error), events: events.length, partition: batch.partition },
        'batch keeps failing; handling its events one by one to find the failing ones',
      );
      for (const event of events) {
        if (undecodable.has(event)) continue;
        const alone = await withRetries([event], handleDecodable, deps);
        if (!alone.ok) {
          failed.push({ message: event.kafkaMessage, reason: 'handler_failed', error: describeError(alone.error) });
        }
      }
      if (failed.length > 0) await assertNoOutage(deps, failed[0]?.error);
      letters.push(...failed);
    }
  }
  const handled = events.length - letters.length;

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
    countDeadLetters(
      deps.metrics,
      deps.consumer,
      'undecodable',
      letters.filter((l) => l.reason === 'undecodable').length,
    );
    countDeadLetters(
      deps.metrics,
      deps.consumer,
      'handler_failed',
      letters.filter((l) => l.reason === 'handler_failed').length,
    );
  }
  deps.metrics.eventsHandled.inc({ consumer: deps.consumer }, handled);
}

/** A failing batch while a dependency is down is an outage: nothing may be dead-lettered or committed. */
async function assertNoOutage(deps: BatchProcessorDeps, handlerError: unknown): Promise<void> {
  try {
    await deps.checkDependencies();
  } catch (error: unknown) {
    throw new ConsumerKitError(
      'PT_ERR_CONSUMER_OUTAGE',
      `consumer ${deps.consumer}: a dependency is down (${describeError(error)}) while the handler fails ` +
        `(${describeError(handlerError)}); nothing is committed or dead-lettered: the batch is read again after a restart`,
      { cause: error },
    );
  }
}

async function withRetries(
  events: readonly KafkaConsumedEvent[],
  handle: (events: readonly KafkaConsumedEvent[]) => Promise<void>,
  deps: BatchProcessorDeps,
): Promise<Attempt> {
  let lastError: unknown;
  for (let attempt = 0; attempt <= deps.retry.maxRetries; attempt += 1) {
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
      deps.logger.debug({ err: describeError(error), attempt, events: events.length }, 'handler failed');
    }
  }
  return { ok: false, error: lastError };
}
