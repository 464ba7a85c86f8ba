import { decodeMessage } from '@pushtech/event';
import { describeError, type IncomingBatch, type IncomingMessage, type Logger } from '@pushtech/runtime';
import { pause, retryDelayMs, type RetryPolicy } from './backoff.js';
import { toConsumedEvent, type ConsumedEvent } from './consumed-event.js';
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
 * One batch, at-least-once: decode (undecodable messages are dead letters at once), hand the
 * events to the handler with retries and backoff, and when the batch keeps failing, isolate the
 * events that fail on their own and dead-letter only those. Resolves when every message is
 * either handled or acknowledged by the dead-letter topic: only then may the offsets be
 * committed. Rejects (nothing committed) when stopping, or when the handler's dependencies are
 * down (an outage, not bad events).
 */
export async function processBatch(batch: IncomingBatch, deps: BatchProcessorDeps): Promise<void> {
  const events: ConsumedEvent[] = [];
  // messageOf[i] is the Kafka message of events[i], for dead-lettering its original bytes.
  const messageOf: IncomingMessage[] = [];
  const letters: DeadLetter[] = [];
  for (const message of batch.messages) {
    const text = message.value?.toString('utf8') ?? '';
    const decoded = decodeMessage(text);
    if (decoded.ok) {
      events.push(toConsumedEvent(decoded.value, text, message));
      messageOf.push(message);
    } else {
      letters.push({ message, reason: 'undecodable', error: decoded.error });
    }
  }

  let handled = events.length;
  if (events.length > 0) {
    const whole = await withRetries(events, deps);
    if (!whole.ok) {
      await assertNoOutage(deps, whole.error);
      deps.logger.warn(
        { err: describeError(whole.error), events: events.length, partition: batch.partition },
        'batch keeps failing; handling its events one by one to find the failing ones',
      );
      const failed: DeadLetter[] = [];
      for (const [i, event] of events.entries()) {
        const alone = await withRetries([event], deps);
        if (!alone.ok) {
          failed.push({
            message: messageOf[i] as IncomingMessage,
            reason: 'handler_failed',
            error: describeError(alone.error),
          });
        }
      }
      if (failed.length > 0) await assertNoOutage(deps, failed[0]?.error);
      handled -= failed.length;
      letters.push(...failed);
    }
  }

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

async function withRetries(events: readonly ConsumedEvent[], deps: BatchProcessorDeps): Promise<Attempt> {
  let lastError: unknown;
  for (let attempt = 0; attempt <= deps.retry.maxRetries; attempt += 1) {
    if (attempt > 0) {
      await pause(retryDelayMs(deps.retry, attempt), deps.signal);
      await deps.heartbeat();
    }
    try {
      await deps.handle(events);
      return { ok: true };
    } catch (error: unknown) {
      lastError = error;
      deps.metrics.handlerFailures.inc({ consumer: deps.consumer });
      deps.logger.debug({ err: describeError(error), attempt, events: events.length }, 'handler failed');
    }
  }
  return { ok: false, error: lastError };
}
