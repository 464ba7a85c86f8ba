import { decodeParams, type ParamList } from '@pushtech/event';
import { HttpError } from './http-error.js';
import { describeError } from '@pushtech/runtime/core';

/** Params of a form body or a query string; tolerant of garbage, as browsers are. */
export function formParams(text: string): ParamList {
  return decodeParams(text);
}

type Scalar = string | number | boolean;

/**
 * A flat JSON object of scalars (what `navigator.sendBeacon` or an app sends) as params.
 * Nested values are refused with the key that holds them: they have no place in a query string.
 */
export function objectParams(value: unknown, where: string): ParamList {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'invalid params', `${where} must be a JSON object of strings, numbers or booleans`);
  }
  const pairs: [string, string][] = [];
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === null || raw === undefined) continue;
    if (!isScalar(raw)) {
      throw new HttpError(
        400,
        'invalid params',
        `${where}.${key} must be a string, number or boolean, not ${Array.isArray(raw) ? 'an array' : 'an object'}`,
      );
    }
    pairs.push([key, String(raw)]);
  }
  return pairs;
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error: unknown) {
    const reason = describeError(error);
    throw new HttpError(400, 'malformed JSON', `${what}: ${reason}`);
  }
}

/**
 * The params of a `POST /t/<event>` body, by content type: a form body, or a flat JSON object
 * (also as `text/plain`, which `navigator.sendBeacon` uses for strings).
 */
export function bodyParams(contentType: string, body: string): ParamList {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (body.trim() === '') return [];
  if (type === 'application/x-www-form-urlencoded') return formParams(body);
  if (type === 'application/json' || type === 'text/plain' || type === '') {
    if (type !== 'application/json' && !body.trimStart().startsWith('{')) return formParams(body);
    return objectParams(parseJson(body, 'body'), 'body');
  }
  throw new HttpError(
    415,
    'unsupported content type',
    `${type} is not accepted; send application/x-www-form-urlencoded, application/json or text/plain`,
  );
}
