import type { EventMeta, ParamList, TrackingEvent } from '@pushtech/event';
import type { IncomingMessage } from '@pushtech/runtime';

/** Where an event was read from, for logs, archives and dead letters. */
export interface EventSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** One decoded event as a consumer's handler receives it. */
export interface ConsumedEvent {
  /** The event id (ULID) given by the tracker; the same on every replay. */
  readonly id: string;
  readonly type: string;
  readonly meta: Readonly<EventMeta>;
  readonly params: ParamList;
  /** When the tracker received the hit (meta.ts), ms since the epoch. */
  readonly receivedAt: number;
  /** When kafkastore produced it to Kafka (the message's create time), ms since the epoch. */
  readonly producedAt: number;
  /** The Kafka message text, as on the wire. */
  readonly message: string;
  readonly source: EventSource;
}

export function toConsumedEvent(event: TrackingEvent, text: string, message: IncomingMessage): ConsumedEvent {
  return {
    id: event.meta.id,
    type: event.type,
    meta: event.meta,
    params: event.params,
    receivedAt: event.meta.ts,
    producedAt: message.timestamp,
    message: text,
    source: { topic: message.topic, partition: message.partition, offset: message.offset },
  };
}
