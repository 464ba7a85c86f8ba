import { describeError, type Logger } from '@pushtech/runtime';
import type { ConsumerMetrics } from './consumer-metrics.js';
import type { InfrastructureReason } from './infrastructure-errors.js';

/**
 * Why a consumer holds a batch: an infrastructure error (see classifyInfrastructureError),
 * every event of a batch failing alone the same way, or its dependency probe failing.
 */
export type OutageReason = InfrastructureReason | 'same_error' | 'dependency_down';

interface HeldBatch {
  reason: OutageReason;
  error: string;
}

/**
 * One consumer's outages: the batches (one per partition being handled) that wait for a
 * dependency to come back. Sets `pushtech_consumer_outage{consumer,reason}` and logs once when
 * the first batch starts waiting and once when the last one went through.
 */
export class OutageTracker {
  private readonly held = new Map<string, HeldBatch>();
  /** Reasons with a series, so a recovered reason drops to 0 instead of vanishing. */
  private readonly reported = new Set<OutageReason>();
  private since = 0;
  private retries = 0;

  constructor(
    private readonly consumer: string,
    private readonly metrics: ConsumerMetrics,
    private readonly logger: Logger,
  ) {}

  /** Why the consumer is not ready, or undefined when no batch waits. */
  get current(): { reason: OutageReason; error: string } | undefined {
    return this.held.values().next().value;
  }

  /** The batch of `partition` waits (again) because of `reason`. */
  hold(partition: string, reason: OutageReason, error: unknown): void {
    const before = this.held.get(partition)?.reason;
    const first = this.held.size === 0;
    this.held.set(partition, { reason, error: describeError(error) });
    if (first) {
      this.since = Date.now();
      this.retries = 0;
      this.logger.error(
        { code: 'PT_ERR_CONSUMER_OUTAGE', reason, partition, err: error },
        'outage: consumer paused; nothing is dead-lettered or committed, the batch is retried until the dependency is back',
      );
    } else if (before !== reason) {
      this.logger.debug({ err: error, reason, partition }, 'outage: the reason changed');
    }
    if (before !== reason) this.updateGauge();
  }

  /** One more attempt at a held batch. */
  retried(): void {
    this.retries += 1;
    this.metrics.outageRetries.inc({ consumer: this.consumer });
  }

  /** The batch of `partition` went through (or was given up on a stop or a rebalance). */
  release(partition: string, outcome: 'recovered' | 'abandoned'): void {
    const was = this.held.get(partition);
    if (!was) return;
    this.held.delete(partition);
    this.updateGauge();
    if (this.held.size === 0) {
      const fields = { reason: was.reason, durationMs: Date.now() - this.since, retries: this.retries };
      if (outcome === 'recovered') this.logger.info(fields, 'outage over: consumer resumed');
      else this.logger.info(fields, 'outage: held batch left uncommitted (stopping or rebalancing)');
    }
  }

  private updateGauge(): void {
    const active = new Set([...this.held.values()].map((h) => h.reason));
    for (const reason of this.reported) {
      if (!active.has(reason)) this.metrics.outage.set({ consumer: this.consumer, reason }, 0);
    }
    for (const reason of active) {
      this.metrics.outage.set({ consumer: this.consumer, reason }, 1);
      this.reported.add(reason);
    }
  }
}
