import {
  CLIENT_CREATED_PARAM,
  CLIENT_ID_PARAM,
  CLIENT_SENT_PARAM,
  clientIdProblem,
  parseClientTime,
  type ParamList,
} from '@pushtech/event';
import { HttpError } from './http-error.js';

/** What a client sent besides its params (`_id`, `_ct`, `_st`), checked; see packages/event. */
export interface ClientFields {
  /** The id the device minted; the event's id. */
  readonly id?: string;
  /** Created and sent time on the device's clock: both or neither. */
  readonly createdAt?: number;
  readonly sentAt?: number;
}

export interface TakenParams {
  readonly params: ParamList;
  readonly client: ClientFields;
}

// A canonical params text holds `_id`, `_ct` or `_st` only as one of these keys ('_' is never
// percent-encoded in canonical text), so the pixel fast path decodes nothing without them.
const RESERVED_IN_TEXT = /(?:^|&)_(?:id|ct|st)(?:[=&]|$)/;
const UNDERSCORE = 95;

/** Whether canonical params text may hold a reserved param. */
export function mayHoldClientParams(encoded: string): boolean {
  return encoded.includes('_') && RESERVED_IN_TEXT.test(encoded);
}

function isReserved(key: string): boolean {
  return (
    key.charCodeAt(0) === UNDERSCORE &&
    (key === CLIENT_ID_PARAM || key === CLIENT_CREATED_PARAM || key === CLIENT_SENT_PARAM)
  );
}

/** Whether a param list holds a reserved param. */
export function holdsClientParams(params: ParamList): boolean {
  for (const [key] of params) if (isReserved(key)) return true;
  return false;
}

/**
 * Takes `_id`, `_ct` and `_st` out of the params and checks them: a well-formed ULID not far
 * ahead of `receivedAt`; both device times as decimal ms, or neither. A refusal is a 400 naming
 * the param (and the batch item, as `where`); nothing of the request is stored then.
 */
export function takeClientFields(params: ParamList, receivedAt: number, where: string): TakenParams {
  const rest: (readonly [string, string])[] = [];
  const seen = new Map<string, string>();
  for (const pair of params) {
    const [key, value] = pair;
    if (!isReserved(key)) {
      rest.push(pair);
      continue;
    }
    if (seen.has(key)) throw refuse(where, 'invalid client field', `${key} is given more than once; send it once`);
    seen.set(key, value);
  }
  const id = seen.get(CLIENT_ID_PARAM);
  if (id !== undefined) {
    const problem = clientIdProblem(id, receivedAt);
    if (problem !== undefined) throw refuse(where, 'invalid client id', problem);
  }
  const created = seen.get(CLIENT_CREATED_PARAM);
  const sent = seen.get(CLIENT_SENT_PARAM);
  if ((created === undefined) !== (sent === undefined)) {
    const [given, missing] =
      created === undefined ? [CLIENT_SENT_PARAM, CLIENT_CREATED_PARAM] : [CLIENT_CREATED_PARAM, CLIENT_SENT_PARAM];
    throw refuse(
      where,
      'invalid device time',
      `${given} came without ${missing}; send both (created and sent time, ms on the device's clock) or neither`,
    );
  }
  const client: { id?: string; createdAt?: number; sentAt?: number } = {};
  if (id !== undefined) client.id = id;
  if (created !== undefined && sent !== undefined) {
    client.createdAt = deviceTime(CLIENT_CREATED_PARAM, created, where);
    client.sentAt = deviceTime(CLIENT_SENT_PARAM, sent, where);
  }
  return { params: rest, client };
}

function deviceTime(name: string, text: string, where: string): number {
  const time = parseClientTime(text);
  if (time === undefined) {
    throw refuse(
      where,
      'invalid device time',
      `${name} must be ms since the epoch as decimal digits (below 2^48), got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return time;
}

function refuse(where: string, error: string, detail: string): HttpError {
  return new HttpError(400, error, where === '' ? detail : `${where}: ${detail}`);
}
