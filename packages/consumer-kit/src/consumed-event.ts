import { decodeMessage, decodeMessageType, type EventMeta, type ParamList, type TrackingEvent } from '@pushtech/event';
import type { IncomingMessage } from '@pushtech/runtime';
import { ConsumerKitError } from './errors.js';

/** Where an event was read from, for logs, archives and dead letters. */
export interface EventSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * One event as a consumer's handler receives it. The Kafka message is decoded when the handler
 * first reads a field that needs it (`type` alone needs only the first field): a handler pays
 * for what it reads. Reading a field of a message that cannot be decoded throws an
 * UndecodableEventError; the kit dead-letters that message (reason `undecodable`) and runs the
 * handler again without it.
 */
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

/** Thrown when a handler reads a field of a message that is not a valid event. */
export class UndecodableEventError extends ConsumerKitError {
  constructor(
    /** The event whose message could not be decoded. */
    readonly event: ConsumedEvent,
    /** Why, as the decoder says it (e.g. `meta: missing key "ts"`). */
    readonly reason: string,
  ) {
    super(
      'PT_ERR_CONSUMER_UNDECODABLE',
      `${event.source.topic}/${event.source.partition}@${event.source.offset} is not a valid event: ${reason}`,
    );
    this.name = 'UndecodableEventError';
  }
}

/** The UndecodableEventError in `error` or its causes, if any. */
export function findUndecodable(error: unknown): UndecodableEventError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof UndecodableEventError) return e;
  }
  return undefined;
}

/** A ConsumedEvent over a Kafka message, decoded on first use and then kept. */
export class KafkaConsumedEvent implements ConsumedEvent {
  #text: string | undefined;
  #type: string | undefined;
  #event: TrackingEvent | undefined;
  #source: EventSource | undefined;

  constructor(
    /** The Kafka message, for dead-lettering its original bytes. */
    readonly kafkaMessage: IncomingMessage,
  ) {}

  get message(): string {
    return (this.#text ??= this.kafkaMessage.value?.toString('utf8') ?? '');
  }

  get type(): string {
    if (this.#type === undefined) {
      const type = decodeMessageType(this.message);
      if (!type.ok) throw new UndecodableEventError(this, type.error);
      this.#type = type.value;
    }
    return this.#type;
  }

  get meta(): Readonly<EventMeta> {
    return this.decoded().meta;
  }

  get params(): ParamList {
    return this.decoded().params;
  }

  get id(): string {
    return this.decoded().meta.id;
  }

  get receivedAt(): number {
    return this.decoded().meta.ts;
  }

  get producedAt(): number {
    return this.kafkaMessage.timestamp;
  }

  get source(): EventSource {
    const m = this.kafkaMessage;
    return (this.#source ??= { topic: m.topic, partition: m.partition, offset: m.offset });
  }

  /** Decodes the whole message now; throws UndecodableEventError when it is not an event. */
  decoded(): TrackingEvent {
    if (this.#event === undefined) {
      const decoded = decodeMessage(this.message);
      if (!decoded.ok) throw new UndecodableEventError(this, decoded.error);
      this.#event = decoded.value;
      this.#type = decoded.value.type;
    }
    return this.#event;
  }

  /** The plain fields, so that JSON.stringify and logging show the event, not an empty object. */
  toJSON(): ConsumedEvent {
    const { id, type, meta, params, receivedAt, producedAt, message, source } = this;
    return { id, type, meta, params, receivedAt, producedAt, message, source };
  }
}
