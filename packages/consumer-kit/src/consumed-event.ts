import {
  decodeMessage,
  decodeMessageType,
  type EventMeta,
  type ParamList,
  type Result,
  type TrackingEvent,
} from '@pushtech/event';
import { deepFreeze, type IncomingMessage } from '@pushtech/runtime';
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

/** How many decoded events a process's consumers share at most (see SharedDecodes). */
export const SHARED_DECODES = 2048;

/** A decoded event, and how many more of the process's consumers will read it. */
interface Shared {
  readonly text: string;
  readonly event: TrackingEvent;
  readers: number;
}

/**
 * Decoded events that the consumers of one process share. Each consumer reads every message in
 * a group of its own, and the consumers of one process (`npm start`'s, all of them) read the same
 * messages within about one fetch linger of each other: without this each of them decoded each
 * message again. Found by where the message was read (topic, partition, offset: a short key),
 * and used only when the text is the same too (a topic deleted and made again reuses offsets).
 * An entry leaves once every consumer has read it, so entries live about as long as the
 * consumers are apart, not long enough to be worth the collector's while to move (a first
 * version that kept the last 4,096 measured no gain at 3,000/s); when a consumer falls behind,
 * the oldest entry leaves at `capacity` and that consumer decodes for itself. Messages that do
 * not decode are not kept.
 */
export class SharedDecodes {
  readonly #events = new Map<string, Shared>();
  #hits = 0;
  #misses = 0;

  /** `consumers`: how many of the process's consumers read each message. */
  constructor(
    readonly consumers: number,
    readonly capacity = SHARED_DECODES,
  ) {
    for (const [name, value] of [
      ['consumers', consumers],
      ['capacity', capacity],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ConsumerKitError('PT_ERR_CONSUMER_DEFINITION', `shared decodes: ${name} ${value}, give 1 or more`);
      }
    }
  }

  /** The event of `text`, read at `at` (`<topic> <partition> <offset>`): decoded, or another consumer's decode. */
  decode(at: string, text: string): Result<TrackingEvent> {
    const kept = this.#events.get(at);
    if (kept !== undefined && kept.text === text) {
      this.#hits += 1;
      if (--kept.readers <= 0) this.#events.delete(at);
      return { ok: true, value: kept.event };
    }
    this.#misses += 1;
    const decoded = decodeFrozen(text);
    if (!decoded.ok) return decoded;
    const event = decoded.value;
    if (this.consumers > 1) {
      if (kept === undefined && this.#events.size >= this.capacity) {
        this.#events.delete(this.#events.keys().next().value as string);
      }
      this.#events.set(at, { text, event, readers: this.consumers - 1 });
    }
    return { ok: true, value: event };
  }

  /** Decodes answered from what another consumer decoded, decodes done, and entries kept now. */
  get counts(): { hits: number; misses: number; kept: number } {
    return { hits: this.#hits, misses: this.#misses, kept: this.#events.size };
  }
}

/**
 * Decodes a message into an event frozen whole: handlers get it read-only (the types say so),
 * and with SharedDecodes one handler's change would be another consumer's input.
 */
function decodeFrozen(text: string): Result<TrackingEvent> {
  const decoded = decodeMessage(text);
  return decoded.ok ? { ok: true, value: deepFreeze(decoded.value) } : decoded;
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
    /** The process's consumers' decoded events, when it runs more than one. */
    private readonly shared?: SharedDecodes,
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
      const m = this.kafkaMessage;
      const decoded = this.shared
        ? this.shared.decode(`${m.topic} ${m.partition} ${m.offset}`, this.message)
        : decodeFrozen(this.message);
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
