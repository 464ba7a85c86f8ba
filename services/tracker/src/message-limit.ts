import { messageBytesAbove, type RawHit } from '@pushtech/event';
import { HttpError } from './http-error.js';

/**
 * Refuses (413) an event whose Kafka message could exceed `limit` (EVENT_MAX_MESSAGE_BYTES) once
 * kafkastore has encoded and enriched it: measured as it will be written, not as received, so an
 * acknowledged event always fits. `index` names the item of a batch.
 */
export function checkMessageSize(hit: RawHit, limit: number, index: number | undefined): void {
  const bound = messageBytesAbove(hit, limit);
  if (bound === undefined) return;
  throw new HttpError(
    413,
    'event too large',
    `${index === undefined ? '' : `item ${index}: `}the event's Kafka message could take ${bound} bytes once ` +
      `encoded (params: ${hit.params.length}); at most ${limit} are allowed`,
  );
}
