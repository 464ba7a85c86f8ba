import {
  Counter,
  Gauge,
  Histogram,
  hotCounter,
  latencyBucketsMs,
  type CountCell,
  type Registry,
} from '@pushtech/runtime';

/** Every metric kafkastore exports, registered on the service's own registry. */
export interface KafkastoreMetrics {
  readonly queueDepth: Gauge;
  readonly processingDepth: Gauge;
  readonly batchSize: Histogram;
  readonly produceLatencyMs: Histogram;
  readonly produceFailures: Counter;
  readonly eventsProduced: Counter;
  readonly eventsDeadLettered: Counter<'stage'>;
  readonly eventsReplayed: Counter;
  /** Entries Kafka could not take even as dead letters, kept whole in the oversized Redis list. */
  readonly eventsParked: Counter;
  readonly klagMs: Histogram;
  /** When the drain on exit began (unix seconds), 0 before; with its budget, for the overrun alert. */
  readonly drainStartedSeconds: Gauge;
  /** KAFKASTORE_DRAIN_TIMEOUT_MS in seconds when KAFKASTORE_DRAIN_ON_EXIT, 0 when there is no drain. */
  readonly drainBudgetSeconds: Gauge;
  readonly cacheLookups: Counter<'cache' | 'result'>;
  /** The cells of `cacheLookups` the caches bump per lookup (a hotCounter's, added on read). */
  readonly cacheCells: Record<'ua' | 'geoip', { hit: CountCell; miss: CountCell }>;
}

export function createKafkastoreMetrics(registry: Registry): KafkastoreMetrics {
  const registers = [registry];
  const cacheLookups = hotCounter({
    name: 'pushtech_kafkastore_cache_lookups_total',
    help: 'Enrichment cache lookups by cache (ua, geoip) and result (hit, miss)',
    labelNames: ['cache', 'result'],
    registers,
  });
  return {
    queueDepth: new Gauge({
      name: 'pushtech_kafkastore_queue_depth',
      help: 'Entries waiting in the incoming Redis list (as of the last batch taken)',
      registers,
    }),
    processingDepth: new Gauge({
      name: 'pushtech_kafkastore_processing_depth',
      help: 'Entries in this instance’s processing list (the batch in flight)',
      registers,
    }),
    batchSize: new Histogram({
      name: 'pushtech_kafkastore_batch_size',
      help: 'Entries per batch taken from Redis',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    produceLatencyMs: new Histogram({
      name: 'pushtech_kafkastore_produce_latency_ms',
      help: 'Time from sending a batch to Kafka until acks=all, per attempt that succeeded',
      buckets: latencyBucketsMs,
      registers,
    }),
    produceFailures: new Counter({
      name: 'pushtech_kafkastore_produce_failures_total',
      help: 'Produce attempts Kafka did not acknowledge (the batch is retried)',
      registers,
    }),
    eventsProduced: new Counter({
      name: 'pushtech_kafkastore_events_produced_total',
      help: 'Events acknowledged by Kafka on the events topic',
      registers,
    }),
    eventsDeadLettered: new Counter({
      name: 'pushtech_kafkastore_events_dead_lettered_total',
      help: 'Entries sent to the dead-letter topic, by the step that refused them',
      labelNames: ['stage'],
      registers,
    }),
    eventsReplayed: new Counter({
      name: 'pushtech_kafkastore_events_replayed_total',
      help: 'Entries found in the processing list (left by a crash or a lost reply) and produced again',
      registers,
    }),
    eventsParked: new Counter({
      name: 'pushtech_kafkastore_events_parked_total',
      help: 'Entries too large for Kafka even as dead letters, kept whole in the <REDIS_QUEUE_KEY>:oversized list',
      registers,
    }),
    klagMs: new Histogram({
      name: 'pushtech_kafkastore_klag_ms',
      help: 'Produce time minus tracker receive time',
      buckets: latencyBucketsMs,
      registers,
    }),
    drainStartedSeconds: new Gauge({
      name: 'pushtech_kafkastore_drain_started_seconds',
      help: 'When the drain on exit began, unix seconds (0: not draining)',
      registers,
    }),
    drainBudgetSeconds: new Gauge({
      name: 'pushtech_kafkastore_drain_budget_seconds',
      help: 'Longest drain on exit (KAFKASTORE_DRAIN_TIMEOUT_MS), seconds; 0 when KAFKASTORE_DRAIN_ON_EXIT is off',
      registers,
    }),
    cacheLookups: cacheLookups.counter,
    cacheCells: {
      ua: {
        hit: cacheLookups.cell({ cache: 'ua', result: 'hit' }),
        miss: cacheLookups.cell({ cache: 'ua', result: 'miss' }),
      },
      geoip: {
        hit: cacheLookups.cell({ cache: 'geoip', result: 'hit' }),
        miss: cacheLookups.cell({ cache: 'geoip', result: 'miss' }),
      },
    },
  };
}
