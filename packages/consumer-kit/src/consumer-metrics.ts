import { Counter, Gauge, Histogram, latencyBucketsMs, type Registry } from '@pushtech/runtime';
import type { DeadLetterReason } from './dead-letter.js';

/** The kit's metrics, shared by every consumer of a process and labelled with its name. */
export interface ConsumerMetrics {
  readonly eventsHandled: Counter<'consumer'>;
  readonly handlerFailures: Counter<'consumer'>;
  readonly deadLettered: Counter<'consumer' | 'reason'>;
  readonly lag: Gauge<'consumer' | 'topic' | 'partition'>;
  readonly batchDuration: Histogram<'consumer'>;
  readonly outage: Gauge<'consumer' | 'reason'>;
  readonly outageRetries: Counter<'consumer'>;
  readonly fetches: Counter<'consumer'>;
  readonly commits: Counter<'consumer'>;
}

export function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  return {
    eventsHandled: new Counter({
      name: 'pushtech_consumer_events_handled_total',
      help: 'Events whose batch was handled and committed',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    handlerFailures: new Counter({
      name: 'pushtech_consumer_handler_failures_total',
      help: 'Handler calls that threw (each retry counts)',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'pushtech_consumer_dead_lettered_total',
      help: 'Messages sent to the dead-letter topic',
      labelNames: ['consumer', 'reason'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'pushtech_consumer_lag',
      help: 'Messages behind the high watermark after the last handled batch, per partition',
      labelNames: ['consumer', 'topic', 'partition'],
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'pushtech_consumer_batch_duration_ms',
      help: 'Time to handle one batch, retries and dead letters included',
      labelNames: ['consumer'],
      buckets: latencyBucketsMs,
      registers: [registry],
    }),
    outage: new Gauge({
      name: 'pushtech_consumer_outage',
      help: 'Whether a batch waits for a dependency (1), by why; nothing is dead-lettered or committed meanwhile',
      labelNames: ['consumer', 'reason'],
      registers: [registry],
    }),
    outageRetries: new Counter({
      name: 'pushtech_consumer_outage_retries_total',
      help: 'Attempts at a batch held by an outage (probe and handler), after backoff',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    fetches: new Counter({
      name: 'pushtech_consumer_fetches_total',
      help: 'Fetch rounds of the Kafka consumer (each waits up to CONSUMER_FETCH_MAX_WAIT_MS)',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    commits: new Counter({
      name: 'pushtech_consumer_offset_commits_total',
      help: 'Offset commits sent (at most one per CONSUMER_COMMIT_INTERVAL_MS, and one on stop)',
      labelNames: ['consumer'],
      registers: [registry],
    }),
  };
}

export function countDeadLetters(
  metrics: ConsumerMetrics,
  consumer: string,
  reason: DeadLetterReason,
  n: number,
): void {
  if (n > 0) metrics.deadLettered.inc({ consumer, reason }, n);
}
