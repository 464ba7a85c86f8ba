import { isEventId } from './ids.js';
import { fail, ok, type Result } from './result.js';

/**
 * The dead-letter contract: the Kafka headers every writer to the dead-letter topic sets, and
 * what the record's value is. kafkastore and the consumer kit both write through
 * `deadLetterHeaders`; the dlq command and kafidx read through `decodeDeadLetter`, which also
 * understands the two header sets written before this contract (issue 20).
 */

/** Why a record was dead-lettered. */
export const deadLetterReasons = [
  /** The entry or message could not be decoded (kafkastore: a raw hit; a consumer: a message). */
  'undecodable',
  /** kafkastore decoded the entry but could not encode its message (a contract gap). */
  'unencodable',
  /** The event's message is larger than EVENT_MAX_MESSAGE_BYTES or the topic's max.message.bytes. */
  'too_large',
  /** The broker refused the event's record for good (invalid, corrupt, too large for it). */
  'rejected_by_broker',
  /** A consumer's handler kept failing on this event alone. */
  'handler_failed',
  /** A letter written before this contract whose reason cannot be told. */
  'unknown',
] as const;
export type DeadLetterReason = (typeof deadLetterReasons)[number];

/**
 * What the value holds. `raw-entry`: the tracker's entry from Redis, whole (kafkastore could
 * not make it a message); `message`: a pipeline message as it was on its topic (a consumer
 * could not handle it), with the original key as the record's key.
 */
export const deadLetterPayloads = ['raw-entry', 'message'] as const;
export type DeadLetterPayload = (typeof deadLetterPayloads)[number];

/** The header names, one place. */
export const DEAD_LETTER_HEADERS = {
  source: 'source',
  consumer: 'consumer',
  reason: 'reason',
  error: 'error',
  payload: 'payload',
  time: 'dead_lettered_at',
  id: 'id',
  originalTopic: 'original_topic',
  originalPartition: 'original_partition',
  originalOffset: 'original_offset',
} as const;

/** Longest error text a letter carries, in UTF-16 units; longer text is cut and marked. */
export const DEAD_LETTER_ERROR_MAX = 1000;

/** The service that wrote the letter: kafkastore, or a consumer built on the kit (named in `consumer`). */
export const deadLetterSources = ['kafkastore', 'consumer'] as const;
export type DeadLetterSource = (typeof deadLetterSources)[number];

export interface DeadLetterInfo {
  readonly source: DeadLetterSource;
  /** The consumer's name; set exactly when source is `consumer`. */
  readonly consumer?: string | undefined;
  readonly reason: DeadLetterReason;
  /** One line for people; bounded, credentials in URLs removed. */
  readonly error: string;
  readonly payload: DeadLetterPayload;
  /** The topic the entry was meant for (kafkastore) or read from (a consumer). */
  readonly originalTopic: string;
  /** Where the message was read from; absent for a raw entry (it never was in Kafka). */
  readonly originalPartition?: number | undefined;
  readonly originalOffset?: string | undefined;
  /** When it was dead-lettered, ms since the epoch. */
  readonly time: number;
  /** The event id, where the writer knew it. */
  readonly id?: string | undefined;
}

/** A letter as read back. */
export interface DecodedDeadLetter extends DeadLetterInfo {
  readonly consumer: string | undefined;
  /** false only for letters an old kafkastore cut short (`truncated` header): not re-drivable. */
  readonly whole: boolean;
  /** Written before this contract (its headers were mapped). */
  readonly legacy: boolean;
}

const CONSUMER_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const OFFSET = /^(0|[1-9][0-9]{0,18})$/;
const TIME = /^[0-9]{1,15}$/;

/** `scheme://user:password@` → `scheme://user:***@`: an error may quote a connection URL. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;

/** The error text a letter may carry: credentials removed, one line, at most DEAD_LETTER_ERROR_MAX. */
export function deadLetterErrorText(error: string): string {
  const text = error.replace(URL_CREDENTIALS, '$1$2:***@').replace(/[\r\n]+/g, ' ');
  if (text.length <= DEAD_LETTER_ERROR_MAX) return wellFormed(text);
  const marker = ` … (${text.length} characters in all)`;
  return wellFormed(text.slice(0, DEAD_LETTER_ERROR_MAX - marker.length)) + marker;
}

/** Headers travel as UTF-8: a lone surrogate (or half a pair cut off) becomes U+FFFD here, not in transit. */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * The headers of a dead letter. Throws a TypeError for values the decoder would refuse (a bad
 * consumer name, offset or id): those are programming errors of the writer.
 */
export function deadLetterHeaders(info: DeadLetterInfo): Record<string, string> {
  const problem = checkInfo(info);
  if (problem !== undefined) throw new TypeError(`dead letter: ${problem}`);
  const h = DEAD_LETTER_HEADERS;
  return {
    [h.source]: info.source,
    ...(info.consumer !== undefined ? { [h.consumer]: info.consumer } : {}),
    [h.reason]: info.reason,
    [h.error]: deadLetterErrorText(info.error),
    [h.payload]: info.payload,
    [h.time]: String(info.time),
    [h.originalTopic]: info.originalTopic,
    ...(info.originalPartition !== undefined ? { [h.originalPartition]: String(info.originalPartition) } : {}),
    ...(info.originalOffset !== undefined ? { [h.originalOffset]: info.originalOffset } : {}),
    ...(info.id !== undefined ? { [h.id]: info.id } : {}),
  };
}

function checkInfo(info: DeadLetterInfo): string | undefined {
  if (!deadLetterSources.includes(info.source)) return `unknown source ${JSON.stringify(info.source)}`;
  if (info.source === 'consumer' && (info.consumer === undefined || !CONSUMER_NAME.test(info.consumer)))
    return `a consumer's letter names it ([A-Za-z0-9._-], 1-100 characters), got ${JSON.stringify(info.consumer)}`;
  if (info.source !== 'consumer' && info.consumer !== undefined) return `only a consumer's letter names a consumer`;
  if (!deadLetterReasons.includes(info.reason)) return `unknown reason ${JSON.stringify(info.reason)}`;
  if (!deadLetterPayloads.includes(info.payload)) return `unknown payload ${JSON.stringify(info.payload)}`;
  if (!Number.isSafeInteger(info.time) || info.time < 0) return `time must be ms since the epoch, got ${info.time}`;
  if (info.originalTopic === '') return 'original topic must not be empty';
  if (
    info.originalPartition !== undefined &&
    (!Number.isSafeInteger(info.originalPartition) || info.originalPartition < 0)
  )
    return `original partition must be an integer >= 0, got ${info.originalPartition}`;
  if (info.originalOffset !== undefined && !OFFSET.test(info.originalOffset))
    return `original offset must be a Kafka offset, got ${JSON.stringify(info.originalOffset)}`;
  if (info.id !== undefined && !isEventId(info.id))
    return `id must be an event id (ULID), got ${JSON.stringify(info.id)}`;
  return undefined;
}

/**
 * Reads a letter's headers. `timestamp` is the dead-letter record's own time, used for letters
 * older than the contract (they carry none). Letters of the two older header sets are mapped:
 * kafkastore's (`error, original_topic, id, truncated`: a raw entry) and the kit's (`error,
 * reason, original_topic, original_partition, original_offset, consumer`: a message). Fails,
 * with the reason, for headers of neither shape.
 */
export function decodeDeadLetter(
  headers: Readonly<Record<string, string>>,
  timestamp: number,
): Result<DecodedDeadLetter> {
  const h = DEAD_LETTER_HEADERS;
  const get = (name: string): string | undefined => headers[name];
  const error = get(h.error);
  const originalTopic = get(h.originalTopic);
  if (error === undefined || originalTopic === undefined || originalTopic === '')
    return fail('dead letter: no error and original_topic headers: not a dead letter of this pipeline');
  const rawId = get(h.id);
  const id = rawId !== undefined && isEventId(rawId) ? rawId : undefined;
  const partitionText = get(h.originalPartition);
  const offset = get(h.originalOffset);
  if (partitionText !== undefined && !/^[0-9]{1,9}$/.test(partitionText))
    return fail(`dead letter: original_partition is not a partition: ${JSON.stringify(partitionText)}`);
  if (offset !== undefined && !OFFSET.test(offset))
    return fail(`dead letter: original_offset is not an offset: ${JSON.stringify(offset)}`);
  const where = {
    originalTopic,
    originalPartition: partitionText === undefined ? undefined : Number(partitionText),
    originalOffset: offset,
  };
  const payload = get(h.payload);
  if (payload !== undefined) {
    if (!(deadLetterPayloads as readonly string[]).includes(payload))
      return fail(`dead letter: unknown payload ${JSON.stringify(payload)}`);
    const source = get(h.source) ?? '';
    if (!(deadLetterSources as readonly string[]).includes(source))
      return fail(`dead letter: unknown source ${JSON.stringify(source)}`);
    const consumer = source === 'consumer' ? get(h.consumer) : undefined;
    if (source === 'consumer' && (consumer === undefined || !CONSUMER_NAME.test(consumer)))
      return fail(`dead letter: a consumer's letter without a valid consumer header: ${JSON.stringify(consumer)}`);
    const reason = get(h.reason) ?? '';
    if (!(deadLetterReasons as readonly string[]).includes(reason))
      return fail(`dead letter: unknown reason ${JSON.stringify(reason)}`);
    const time = get(h.time) ?? '';
    if (!TIME.test(time)) return fail(`dead letter: ${h.time} is not ms since the epoch: ${JSON.stringify(time)}`);
    return ok({
      source: source as DeadLetterSource,
      consumer,
      reason: reason as DeadLetterReason,
      error,
      payload: payload as DeadLetterPayload,
      ...where,
      time: Number(time),
      id,
      whole: true,
      legacy: false,
    });
  }
  const consumer = get(h.consumer);
  if (consumer !== undefined) {
    // The kit before the contract: the original message, its key, and where it was read.
    const reason = get(h.reason);
    return ok({
      source: 'consumer',
      consumer,
      reason: reason === 'undecodable' || reason === 'handler_failed' ? reason : 'unknown',
      error,
      payload: 'message',
      ...where,
      time: timestamp,
      id,
      whole: true,
      legacy: true,
    });
  }
  // kafkastore before the contract: the raw entry, the stage only in the error text.
  return ok({
    source: 'kafkastore',
    consumer: undefined,
    reason: legacyKafkastoreReason(error),
    error,
    payload: 'raw-entry',
    ...where,
    time: timestamp,
    id,
    whole: get('truncated') === undefined,
    legacy: true,
  });
}

/** The stage of an old kafkastore letter, from the error texts it wrote (process-entry.ts, drain-loop.ts). */
function legacyKafkastoreReason(error: string): DeadLetterReason {
  if (error.startsWith('raw hit:')) return 'undecodable';
  if (error.startsWith('cannot encode the event')) return 'unencodable';
  if (/^the event's (message|Kafka record) is \d+ bytes, above /.test(error)) return 'too_large';
  if (error.startsWith('Kafka refused the event')) return 'rejected_by_broker';
  return 'unknown';
}
