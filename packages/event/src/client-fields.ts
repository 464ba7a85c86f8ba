import { eventIdTime, isEventId } from './ids.js';
import { quote } from './quote.js';

/**
 * What a client (the SDK, or any HTTP client) sends with an event besides its params, as the
 * reserved params `_id`, `_ct` and `_st`: the id it minted on the device, when the event was
 * created and when it was sent, both on the device's clock. The tracker takes them out of the
 * params; kafkastore writes them into the meta (`id_src`, `ct`, `st`, `ets`).
 */
export const CLIENT_ID_PARAM = '_id';
export const CLIENT_CREATED_PARAM = '_ct';
export const CLIENT_SENT_PARAM = '_st';
export const CLIENT_PARAMS: readonly string[] = [CLIENT_ID_PARAM, CLIENT_CREATED_PARAM, CLIENT_SENT_PARAM];

/**
 * How far ahead of the receive time a client id's time may be. The bound only refuses text that
 * is no time at all (random base32 reads as a time centuries ahead): a device whose clock is
 * off by hours, days or months still mints ids as unique as any, and the consumer kit's dedup
 * does not rely on a client id's time (see dedup.ts).
 */
export const CLIENT_ID_MAX_AHEAD_MS = 366 * 24 * 3600 * 1000;

/** The largest device time taken: a ULID's 48-bit millisecond range (the year 10889). */
export const CLIENT_TIME_MAX = 2 ** 48 - 1;

const DIGITS = /^\d{1,15}$/;

/** Why `id` cannot be an event's id when received at `receivedAt`, or undefined when it can. */
export function clientIdProblem(id: string, receivedAt: number): string | undefined {
  if (!isEventId(id)) {
    return `${CLIENT_ID_PARAM} must be a ULID (26 characters of Crockford base32, uppercase), got ${quote(id.slice(0, 40))}`;
  }
  const ahead = eventIdTime(id) - receivedAt;
  if (ahead > CLIENT_ID_MAX_AHEAD_MS) {
    return `${CLIENT_ID_PARAM} ${id} holds a time ${Math.round(ahead / 86_400_000)} days ahead of the tracker's clock; at most ${CLIENT_ID_MAX_AHEAD_MS / 86_400_000} are taken`;
  }
  return undefined;
}

/** A device time (`_ct`, `_st`): ms since the epoch as decimal digits, within CLIENT_TIME_MAX. */
export function parseClientTime(text: string): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const value = Number(text);
  return value <= CLIENT_TIME_MAX ? value : undefined;
}

/**
 * The event time corrected for the device's clock skew, as Snowplow's derived timestamp: the
 * receive time minus how long the event waited on the device (sent − created, both on the
 * device's clock, so its skew cancels out). A sent time before the created time (the clock was
 * set back while the event waited) counts as no wait; never below 0.
 */
export function derivedEventTime(receivedAt: number, createdAt: number, sentAt: number): number {
  return Math.max(0, receivedAt - Math.max(0, sentAt - createdAt));
}

/** What the meta says of a hit's client fields; kafkastore's writer and encodeMeta agree on it. */
export interface ClientMetaFields {
  /** Who minted the event id; absent (or 'tracker') for an id the tracker minted. */
  readonly idSource?: 'client' | 'tracker' | undefined;
  readonly createdAt?: number | undefined;
  readonly sentAt?: number | undefined;
  readonly eventTime?: number | undefined;
}

/**
 * The meta's client keys, `&id_src=..&ct=..&st=..&ets=..` (those present), in wire order after
 * the enrichment keys; '' for a hit without client fields. Throws a TypeError for a time that
 * is not a non-negative integer, as encodeMeta does.
 */
export function encodeClientMeta(fields: ClientMetaFields): string {
  let text = '';
  if (fields.idSource !== undefined) {
    if (fields.idSource !== 'client' && fields.idSource !== 'tracker') {
      throw new TypeError(`meta: id_src must be client or tracker, got ${quote(String(fields.idSource))}`);
    }
    text += `&id_src=${fields.idSource}`;
  }
  if (fields.createdAt !== undefined) text += `&ct=${metaTime('ct', fields.createdAt)}`;
  if (fields.sentAt !== undefined) text += `&st=${metaTime('st', fields.sentAt)}`;
  if (fields.eventTime !== undefined) text += `&ets=${metaTime('ets', fields.eventTime)}`;
  return text;
}

function metaTime(key: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`meta: ${key} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** The meta's client keys of a raw hit (see encodeClientMeta): `ets` when both times came. */
export function clientMetaOfHit(hit: {
  readonly idSource?: 'client' | undefined;
  readonly ts: number;
  readonly createdAt?: number | undefined;
  readonly sentAt?: number | undefined;
}): string {
  if (hit.idSource === undefined && hit.createdAt === undefined && hit.sentAt === undefined) return '';
  return encodeClientMeta({
    idSource: hit.idSource,
    createdAt: hit.createdAt,
    sentAt: hit.sentAt,
    eventTime:
      hit.createdAt !== undefined && hit.sentAt !== undefined
        ? derivedEventTime(hit.ts, hit.createdAt, hit.sentAt)
        : undefined,
  });
}
