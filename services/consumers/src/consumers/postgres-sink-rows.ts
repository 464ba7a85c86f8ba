import { isIP } from 'node:net';
import type { ConsumedEvent } from '@pushtech/consumer-kit';

/** The columns the sink COPYs, in order (the staging table has exactly these). */
export const copyColumns = [
  'id',
  'received_at',
  'type',
  'device_time',
  'device_id',
  'ip',
  'country',
  'city',
  'region',
  'latitude',
  'longitude',
  'device_type',
  'browser',
  'browser_version',
  'engine',
  'os',
  'os_version',
  'vendor',
  'model',
  'bot',
  'host',
  'pod',
  'klag',
  'params',
] as const;

const NULL = '\\N';

/**
 * A value in COPY's text format: backslash, tab, newline and carriage return escaped; NUL,
 * which PostgreSQL text cannot hold, becomes U+FFFD.
 */
export function copyText(value: string): string {
  const text = withoutNul(value);
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : text;
}

/**
 * text and jsonb refuse NUL (also as JSON's \\u0000): U+FFFD instead. Decoded fields hold no
 * lone surrogates (the wire format is percent-encoded UTF-8).
 */
function withoutNul(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

function optional(value: string | undefined): string {
  return value === undefined || value === '' ? NULL : copyText(value);
}

function finite(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? NULL : String(value);
}

function time(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? NULL : new Date(ms).toISOString();
}

/** The device's own time of the event when it sent one: the meta's `ct` (device-created, ms). */
export function deviceTime(event: ConsumedEvent): number | undefined {
  const typed = (event.meta as { ct?: unknown }).ct;
  if (typeof typed === 'number') return typed;
  const raw = event.meta.extra.find(([k]) => k === 'ct')?.[1];
  if (raw === undefined || !/^\d{1,15}$/.test(raw)) return undefined;
  const ms = Number(raw);
  // Outside what timestamptz takes (and what any device clock says): unknown.
  return ms > 0 && ms < 8.2e15 ? ms : undefined;
}

/** The params as a JSON object; a key given twice keeps its last value, as jsonb does. */
export function paramsJson(event: ConsumedEvent): string {
  const object: Record<string, string> = {};
  for (const [k, v] of event.params) object[withoutNul(k)] = withoutNul(v);
  return JSON.stringify(object);
}

/** One event as a line of COPY text (with its newline). */
export function copyRow(event: ConsumedEvent): string {
  const m = event.meta;
  const deviceId = event.params.find(([k]) => k === 'deviceid')?.[1];
  const bot = m.bot === undefined ? NULL : m.bot ? 't' : 'f';
  const fields = [
    copyText(event.id),
    time(event.receivedAt),
    copyText(event.type),
    time(deviceTime(event)),
    optional(deviceId),
    isIP(m.ip) === 0 ? NULL : m.ip,
    optional(m.country),
    optional(m.city),
    optional(m.region),
    finite(m.lat),
    finite(m.lon),
    optional(m.type),
    optional(m.browser),
    optional(m.version),
    optional(m.engine),
    optional(m.os),
    optional(m.osVersion),
    optional(m.vendor),
    optional(m.model),
    bot,
    optional(m.host),
    optional(m.pod),
    Number.isSafeInteger(m.klag) ? String(m.klag) : NULL,
    copyText(paramsJson(event)),
  ];
  return `${fields.join('\t')}\n`;
}
