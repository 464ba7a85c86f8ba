import type { AnyConsumerDefinition } from '@pushtech/consumer-kit';
import { archiver } from './archiver.js';
import { eventCounter } from './event-counter.js';
import { metadataCounter } from './metadata-counter.js';
import { postgresSink } from './postgres-sink.js';
import { statsCollector } from './stats-collector.js';
// new-consumer: imports above this line

/** Every consumer this service can run, selected by CONSUMER_NAME / CONSUMERS. */
export const builtInConsumers: readonly AnyConsumerDefinition[] = [
  eventCounter,
  metadataCounter,
  statsCollector,
  archiver,
  postgresSink,
  // new-consumer: entries above this line
];
