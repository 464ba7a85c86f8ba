import { decodeEventType, encodeEventType } from './event-type.js';
import { decodeMeta, encodeMeta, type EventMeta } from './meta.js';
import { decodeParams, encodeParams, type ParamList } from './params.js';
import { fail, ok, type Result } from './result.js';

/** One event as consumers see it: the Kafka message `<event_type> <meta> <params>`. */
export interface TrackingEvent {
  /** Event type, decoded: the last path segment of /t/<event_type>. */
  type: string;
  meta: EventMeta;
  /** The request's query parameters, in order. */
  params: ParamList;
}

const SPACE = ' ';

/**
 * The message text. No field holds a raw space, so it always splits into three fields; the
 * third is empty when there are no params. Throws a TypeError only for values the decoder
 * would refuse (see encodeMeta), which are programming errors.
 */
export function encodeMessage(event: TrackingEvent): string {
  return `${encodeEventType(event.type)} ${encodeMeta(event.meta)} ${encodeParams(event.params)}`;
}

/** Decodes a message; meta.ip comes back as canonical address text (see canonicalIp). */
export function decodeMessage(text: string): Result<TrackingEvent> {
  const first = text.indexOf(SPACE);
  const second = first < 0 ? -1 : text.indexOf(SPACE, first + 1);
  if (second < 0 || text.includes(SPACE, second + 1)) return wrongFieldCount(text);
  const type = decodeEventType(text.slice(0, first));
  if (!type.ok) return type;
  if (second === first + 1) return fail('message: empty meta');
  const meta = decodeMeta(text.slice(first + 1, second));
  if (!meta.ok) return meta;
  return ok({ type: type.value, meta: meta.value, params: decodeParams(text.slice(second + 1)) });
}

/** Only the event type, for filtering without decoding the rest. */
export function decodeMessageType(text: string): Result<string> {
  const first = text.indexOf(SPACE);
  return first < 0 ? wrongFieldCount(text) : decodeEventType(text.slice(0, first));
}

function wrongFieldCount(text: string): Result<never> {
  return fail(`message: expected 3 space-separated fields, got ${text.split(SPACE).length}`);
}
