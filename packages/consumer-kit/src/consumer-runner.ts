import type { Redis } from 'ioredis';
import {
  createConsumer,
  type EventConsumer,
  type IncomingBatch,
  type KafkaConnection,
  type Logger,
  type Registry,
} from '@pushtech/runtime';
import type { RetryPolicy } from './backoff.js';
import { processBatch } from './batch-processor.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import type { DeadLetterSink } from './dead-letter.js';
import { createDedup, type Dedup } from './dedup.js';
import type { SharedDecodes } from './consumed-event.js';
import type { AnyConsumerDefinition, ConsumerContext } from './define-consumer.js';
import { DependencyProbe } from './dependency-probe.js';
import { ConsumerKitError } from './errors.js';
import { OutageTracker } from './outage.js';

export interface ConsumerRunnerOptions {
  readonly definition: AnyConsumerDefinition;
  /** The consumer's parsed settings. */
  readonly config: unknown;
  readonly connection: KafkaConnection;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly concurrency: number;
  readonly sessionTimeoutMs: number;
  /** Fetch batching and commit interval (see CONSUMER_FETCH_* and CONSUMER_COMMIT_INTERVAL_MS). */
  readonly fetchMaxWaitMs: number;
  readonly fetchMinBytes: number;
  readonly fetchMaxPartitionBytes: number;
  readonly fetchLingerMs: number;
  readonly commitIntervalMs: number;
  readonly retry: RetryPolicy;
  readonly deadLetters: DeadLetterSink;
  /** Undefined when the consumer did not ask for Redis. */
  readonly redis: Redis | undefined;
  readonly keyPrefix: string;
  readonly dedupWindowSeconds: number;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: ConsumerMetrics;
  /** How often the dependency probe runs for readiness (also while a batch is held). */
  readonly probeIntervalMs: number;
  /** The decoded events the process's consumers share, when it runs more than one. */
  readonly sharedDecodes?: SharedDecodes | undefined;
}

/** A probe slower than this counts as failed. */
const PROBE_TIMEOUT_MS = 10_000;
/** The Redis probe key's life: it only proves that a write was taken. */
const PROBE_KEY_TTL_MS = 60_000;

/**
 * One consumer in its own consumer group: start, stop, health. A batch's offsets are committed
 * by the runtime's EventConsumer only after `processBatch` resolved. An outage holds the batch
 * (the consumer waits, not ready, and retries); when `processBatch` rejects otherwise (a dead
 * letter that cannot be written), the consumer ends and `onCrash` listeners hear about it (the
 * process must then exit).
 */
export class ConsumerRunner {
  readonly name: string;
  private readonly consumer: EventConsumer;
  private readonly stopping = new AbortController();
  private readonly context: Omit<ConsumerContext<unknown>, 'heartbeat'>;
  private readonly probe: DependencyProbe | undefined;
  private readonly outages: OutageTracker;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: ConsumerRunnerOptions) {
    this.name = options.definition.name;
    const logger = options.logger.child({ consumer: this.name });
    this.consumer = createConsumer(options.connection, logger, {
      groupId: options.groupId,
      topics: options.topics,
      fromBeginning: options.fromBeginning,
      concurrency: options.concurrency,
      sessionTimeoutMs: options.sessionTimeoutMs,
      maxWaitMs: options.fetchMaxWaitMs,
      minBytes: options.fetchMinBytes,
      maxPartitionBytes: options.fetchMaxPartitionBytes,
      fetchLingerMs: options.fetchLingerMs,
      commitIntervalMs: options.commitIntervalMs,
      onFetch: () => options.metrics.fetches.inc({ consumer: this.name }),
      onCommit: () => options.metrics.commits.inc({ consumer: this.name }),
    });
    const name = this.name;
    const redis = options.redis;
    const keyPrefix = `${options.keyPrefix}:${name}`;
    const dedup: Dedup | undefined = redis
      ? createDedup(redis, {
          markPrefix: `${options.keyPrefix}:dedup:${name}:`,
          windowSeconds: options.dedupWindowSeconds,
        })
      : undefined;
    const noRedis = (): never => {
      throw new ConsumerKitError(
        'PT_ERR_CONSUMER_NO_REDIS',
        `consumer ${name} uses Redis; declare it with \`redis: true\` in defineConsumer`,
      );
    };
    this.context = {
      name,
      config: options.config,
      logger,
      metrics: options.registry,
      keyPrefix,
      signal: this.stopping.signal,
      get redis(): Redis {
        return redis ?? noRedis();
      },
      get dedup(): Dedup {
        return dedup ?? noRedis();
      },
    };
    this.outages = new OutageTracker(name, options.metrics, logger);
    const { definition } = options;
    if (redis || definition.checkDependencies) {
      // Beside the dedup marks, outside the consumer's own keys (`<prefix>:<name>:...`).
      const probeKey = `${options.keyPrefix}:probe:${name}`;
      const context: ConsumerContext<unknown> = Object.create(this.context, {
        heartbeat: { value: () => Promise.resolve() },
      }) as ConsumerContext<unknown>;
      this.probe = new DependencyProbe({
        // A write, not a PING: a Redis at maxmemory still answers PING but refuses every write.
        check: async () => {
          await redis?.set(probeKey, String(Date.now()), 'PX', PROBE_KEY_TTL_MS);
          await definition.checkDependencies?.(context);
        },
        intervalMs: options.probeIntervalMs,
        timeoutMs: PROBE_TIMEOUT_MS,
        logger,
      });
    }
  }

  get groupId(): string {
    return this.options.groupId;
  }

  get running(): boolean {
    return this.consumer.running;
  }

  /** Ready: running, no batch held by an outage, dependencies usable; else why not. */
  readiness(): true | string {
    if (!this.consumer.running) return 'not running';
    const outage = this.outages.current;
    if (outage) return `outage (${outage.reason}): ${outage.error}`;
    return this.probe?.readiness() ?? true;
  }

  onCrash(listener: (error: Error) => void): void {
    this.consumer.onCrash(listener);
  }

  async start(): Promise<void> {
    const { definition, metrics } = this.options;
    // The partitions of a fetch in one handler call: the handler, its Redis script and its
    // writes run once per fetch, not once per partition.
    await this.consumer.startGathered(async (batches, kafka) => {
      const ended = metrics.batchDuration.startTimer({ consumer: this.name });
      // The shared context plus this call's heartbeat (with CONSUMER_CONCURRENCY above 1, calls may run at once).
      const context: ConsumerContext<unknown> = Object.create(this.context, {
        heartbeat: { value: () => kafka.heartbeat() },
      }) as ConsumerContext<unknown>;
      await processBatch(batches, {
        consumer: this.name,
        handle: (events) => definition.handleBatch(events, context),
        checkDependencies: () => this.probe?.run() ?? Promise.resolve(),
        deadLetters: this.options.deadLetters,
        retry: this.options.retry,
        signal: this.stopping.signal,
        heartbeat: () => kafka.heartbeat(),
        metrics,
        logger: this.context.logger,
        outages: this.outages,
        sharedDecodes: this.options.sharedDecodes,
      });
      ended();
      for (const batch of batches) this.recordLag(batch);
    }, this.options.concurrency);
    this.probe?.start();
  }

  /** The partitions this instance owns now (after the latest rebalance). */
  assignment(timeoutMs: number): Promise<{ topic: string; partitions: number[] }[]> {
    return this.consumer.waitForAssignment(timeoutMs);
  }

  /** Lets the batch in hand finish and commit, then leaves the group. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      await Promise.all([this.probe?.stop(), this.consumer.stop()]);
    })();
    return this.stopped;
  }

  private recordLag(batch: IncomingBatch): void {
    const last = batch.messages[batch.messages.length - 1];
    if (!last) return;
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n);
    this.options.metrics.lag.set({ consumer: this.name, topic: batch.topic, partition: String(batch.partition) }, lag);
  }
}
