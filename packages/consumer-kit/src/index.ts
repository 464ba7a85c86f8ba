export {
  defineConsumer,
  type AnyConsumerDefinition,
  type ConsumerContext,
  type ConsumerDefinition,
} from './define-consumer.js';
export { UndecodableEventError, type ConsumedEvent, type EventSource } from './consumed-event.js';
export {
  createDedup,
  DEDUP_BUCKETS_PER_WINDOW,
  DEDUP_ID_TIME_MARGIN_MS,
  dedupKeyBound,
  type CounterOp,
  type Dedup,
  type DedupEvent,
  type DedupOptions,
  type KeyExpiry,
} from './dedup.js';
export { consumerKitSettings, type ConsumerKitConfig } from './settings.js';
export { ConsumerService, type ConsumerServiceOptions } from './consumer-service.js';
export { ConsumerRunner } from './consumer-runner.js';
export { processBatch, type BatchProcessorDeps } from './batch-processor.js';
export { toDeadLetterMessage, type DeadLetter, type DeadLetterReason, type DeadLetterSink } from './dead-letter.js';
export { createConsumerMetrics, type ConsumerMetrics } from './consumer-metrics.js';
export { retryDelayMs, type RetryPolicy } from './backoff.js';
export { ConsumerKitError, isConsumerKitError, type ConsumerKitErrorCode } from './errors.js';
export {
  TransientError,
  transient,
  classifyInfrastructureError,
  failureSignature,
  type InfrastructureError,
  type InfrastructureReason,
} from './infrastructure-errors.js';
export { OutageTracker, type OutageReason } from './outage.js';
