import {
  decodeParams,
  encodeParams,
  encodeRawHit,
  isCanonicalParams,
  newEventId,
  type ParamList,
  type RawHit,
} from '@pushtech/event';
import type { Cidr } from './cidr.js';
import { holdsClientParams, mayHoldClientParams, takeClientFields, type ClientFields } from './client-fields.js';
import { clientIp } from './client-ip.js';
import type { EventSchemas } from './event-schemas.js';
import { HttpError } from './http-error.js';
import type { IncomingRequest } from './http-exchange.js';
import { checkMessageSize } from './message-limit.js';
import type { HitStore } from './hit-store.js';
import type { RateLimiter } from './rate-limit.js';
import type { WriteKeys } from './write-keys.js';

export const MAX_QUERY_BYTES = 8 * 1024;
/** A write key may come as a query param (pixels cannot set headers); it is never stored. */
export const WRITE_KEY_PARAM = 'write_key';

export interface TrackingPolicy {
  readonly pod: string;
  readonly trustedProxies: readonly Cidr[];
  /** Whether a trusted proxy's X-Real-IP counts (TRACKER_TRUST_X_REAL_IP). */
  readonly trustRealIp: boolean;
  readonly writeKeys: WriteKeys;
  readonly rateLimiter: RateLimiter;
  readonly schemas: EventSchemas;
  readonly schemasEnabled: boolean;
  /** The largest Kafka message of one event (EVENT_MAX_MESSAGE_BYTES); a larger one gets 413. */
  readonly maxMessageBytes: number;
}

export interface TrackedEvent {
  readonly type: string;
  readonly params: ParamList;
  /** The params already in canonical encoding (a plain query string), to skip re-encoding. */
  readonly encodedParams?: string;
}

/** A query stored as it came: already canonical params text, and without a write key to strip. */
export function isCanonicalQuery(query: string): boolean {
  return isCanonicalParams(query) && !query.includes(WRITE_KEY_PARAM);
}

/** The checks before a body is read: the write key, and a token left for at least one event. */
export function admitClient(request: IncomingRequest, policy: TrackingPolicy, queryParams: ParamList): string {
  const ip = resolveClientIp(request, policy.trustedProxies);
  checkWriteKey(request, policy.writeKeys, queryParams);
  const wait = policy.rateLimiter.peek(ip, 1);
  if (wait > 0) throw rateLimited(ip, wait);
  return ip;
}

/** Checks that come before any parsing: is this client allowed to write at all, and this much? */
export function admit(request: IncomingRequest, policy: TrackingPolicy, queryParams: ParamList, cost: number): string {
  const ip = resolveClientIp(request, policy.trustedProxies);
  checkWriteKey(request, policy.writeKeys, queryParams);
  chargeEvents(policy.rateLimiter, ip, cost);
  return ip;
}

/**
 * Takes one token per event. More events than the burst are refused with 413 rather than
 * admitted against future tokens: no wait would ever let them through as one request, and a debt
 * would let one request exceed the limit the burst sets. The reason says how many fit.
 */
export function chargeEvents(limiter: RateLimiter, ip: string, cost: number): void {
  if (cost > limiter.burst) {
    throw new HttpError(
      413,
      'batch over the rate limit',
      `${cost} events in one request; the rate limit lets a client send at most ${limiter.burst} at once (burst)`,
    );
  }
  const wait = limiter.take(ip, cost);
  if (wait > 0) throw rateLimited(ip, wait);
}

function rateLimited(ip: string, waitSeconds: number): HttpError {
  return new HttpError(429, 'rate limited', `too many events from ${ip}; retry in ${waitSeconds} s`, {
    'Retry-After': String(waitSeconds),
  });
}

function checkWriteKey(request: IncomingRequest, writeKeys: WriteKeys, queryParams: ParamList): void {
  const key = request.writeKey !== '' ? request.writeKey : queryParams.find(([k]) => k === WRITE_KEY_PARAM)?.[1];
  if (!writeKeys.accepts(key)) {
    throw new HttpError(
      401,
      'unauthorized',
      key === undefined || key === ''
        ? 'a write key is required (X-Write-Key header or write_key param)'
        : 'the write key is not valid',
    );
  }
}

/** Canonical text of the client's address (see clientIp). */
export function resolveClientIp(request: IncomingRequest, trusted: readonly Cidr[]): string {
  // The socket peer is already canonical text (peerAddress), and clientIp answers canonical text.
  if (trusted.length === 0) return request.peer;
  return clientIp(request.peer, request.forwardedFor, request.realIp, trusted);
}

export function checkQueryLength(request: IncomingRequest): void {
  if (request.query.length > MAX_QUERY_BYTES) {
    throw new HttpError(
      414,
      'query too long',
      `the query string is ${request.query.length} bytes; at most ${MAX_QUERY_BYTES} are allowed`,
    );
  }
}

export function withoutWriteKey(params: ParamList): ParamList {
  return params.some(([k]) => k === WRITE_KEY_PARAM) ? params.filter(([k]) => k !== WRITE_KEY_PARAM) : params;
}

/**
 * Takes the client's fields (`_id`, `_ct`, `_st`) out of the params, applies the event schemas
 * and turns the events into raw hits; nothing is stored on a refusal.
 */
export function toRawHits(
  request: IncomingRequest,
  policy: TrackingPolicy,
  ip: string,
  receivedAt: number,
  events: readonly TrackedEvent[],
  indexed: boolean,
): string[] {
  return events.map((event, index) => {
    const where = indexed ? `item ${index}` : '';
    let params = event.params;
    let encoded = event.encodedParams;
    let client: ClientFields | undefined;
    if (encoded !== undefined ? mayHoldClientParams(encoded) : holdsClientParams(params)) {
      ({ params, client } = takeClientFields(
        encoded !== undefined ? decodeParams(encoded) : params,
        receivedAt,
        where,
      ));
      encoded = undefined;
    }
    const problem = policy.schemas.check(event.type, params);
    if (problem) throw new HttpError(400, 'schema violation', indexed ? `${where}: ${problem}` : problem);
    const hit: RawHit = {
      id: client?.id ?? newEventId(),
      ts: receivedAt,
      ip,
      host: request.host,
      pod: policy.pod,
      type: event.type,
      params: encoded ?? encodeParams(params),
      ua: request.userAgent,
    };
    if (client?.id !== undefined) hit.idSource = 'client';
    if (client?.createdAt !== undefined) hit.createdAt = client.createdAt;
    if (client?.sentAt !== undefined) hit.sentAt = client.sentAt;
    checkMessageSize(hit, policy.maxMessageBytes, indexed ? index : undefined);
    return encodeRawHit(hit);
  });
}

/** Stores the hits; the promise settles when Redis confirmed them (or with a 503). */
export function storeHits(store: HitStore, hits: readonly string[]): Promise<void> {
  return store.store(hits);
}
