import { isIP } from 'node:net';
import type { ConsumedEvent } from '@pushtech/consumer-kit';

/** The columns the sink COPYs, in order. */
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
/** Characters COPY's text format escapes, and NUL, which PostgreSQL text cannot hold. */
const COPY_SPECIAL = /[\\\0\t\n\r]/;
/** Characters a JSON string escapes (they include all of COPY_SPECIAL). */
// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const JSON_SPECIAL = /["\\\0-\x1f]/;

/**
 * A value in COPY's text format: backslash, tab, newline and carriage return escaped; NUL,
 * which PostgreSQL text cannot hold, becomes U+FFFD. Most values have none of them: one scan.
 */
export function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? escapeCopy(value) : value;
}

function escapeCopy(value: string): string {
  return withoutNul(value).replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/**
 * text and jsonb refuse NUL (also as JSON's \\u0000): U+FFFD instead. Decoded fields hold no
 * lone surrogates (the wire format is percent-encoded UTF-8).
 */
export function withoutNul(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

/** A JSON string literal as COPY text: quoted as is unless it holds a character to escape. */
function jsonText(value: string): string {
  return JSON_SPECIAL.test(value) ? escapeCopy(JSON.stringify(withoutNul(value))) : `"${value}"`;
}

function optional(value: string | undefined): string {
  return value === undefined || value === '' ? NULL : copyText(value);
}

function finite(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? NULL : String(value);
}

const DAY_MS = 86_400_000;
/** Up to 9999-12-31: the times `toISOString` writes with a four-digit year. */
const FOUR_DIGIT_YEARS_MS = 253_402_300_800_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
let cachedDay = Number.NaN;
let cachedDayPrefix = '';

/**
 * `new Date(ms).toISOString()`, without a Date for every row: the day's `YYYY-MM-DDT` is kept
 * (a batch's events are mostly of one day) and the time of day is written from integers.
 */
export function isoTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= FOUR_DIGIT_YEARS_MS) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    cachedDay = day;
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1_000);
  const millis = rest - seconds * 1_000;
  return `${cachedDayPrefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

function time(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? NULL : isoTime(ms);
}

/** The device's own time of the event when it sent one: the meta's `ct` (device-created, ms). */
export function deviceTime(event: ConsumedEvent): number | undefined {
  const ms = event.meta.createdAt;
  // Outside what timestamptz takes (and what any device clock says): unknown.
  return ms !== undefined && Number.isSafeInteger(ms) && ms > 0 && ms < 8.2e15 ? ms : undefined;
}

/** The `deviceid` param (the first one), the key of the distinct-devices rollup. */
export function deviceIdOf(event: ConsumedEvent): string | undefined {
  for (const [key, value] of event.params) if (key === 'deviceid') return value;
  return undefined;
}

/**
 * The params as a JSON object, in COPY text. A key given twice is written twice: jsonb keeps
 * the last value, as the old object-building encoder did.
 */
export function paramsJson(event: ConsumedEvent): string {
  let json = '{';
  for (const [key, value] of event.params) json += `${json.length > 1 ? ',' : ''}${jsonText(key)}:${jsonText(value)}`;
  return `${json}}`;
}

/** One event as a line of COPY text (with its newline). */
export function copyRow(event: ConsumedEvent): string {
  const m = event.meta;
  const bot = m.bot === undefined ? NULL : m.bot ? 't' : 'f';
  return (
    `${copyText(event.id)}\t${time(event.receivedAt)}\t${copyText(event.type)}\t${time(deviceTime(event))}\t` +
    `${optional(deviceIdOf(event))}\t${isIP(m.ip) === 0 ? NULL : m.ip}\t${optional(m.country)}\t` +
    `${optional(m.city)}\t${optional(m.region)}\t${finite(m.lat)}\t${finite(m.lon)}\t${optional(m.type)}\t` +
    `${optional(m.browser)}\t${optional(m.version)}\t${optional(m.engine)}\t${optional(m.os)}\t` +
    `${optional(m.osVersion)}\t${optional(m.vendor)}\t${optional(m.model)}\t${bot}\t${optional(m.host)}\t` +
    `${optional(m.pod)}\t${Number.isSafeInteger(m.klag) ? String(m.klag) : NULL}\t${paramsJson(event)}\n`
  );
}

/** A batch's events as COPY text, straight into bytes: line i ends at `ends[i]`. */
export interface CopyRows {
  readonly bytes: Buffer;
  readonly ends: readonly number[];
}

/**
 * The events as COPY lines written into one buffer as they are made: one string for the
 * batch, flattened and then encoded, cost more than the rows themselves.
 */
export function encodeRows(events: readonly ConsumedEvent[]): CopyRows {
  let bytes = Buffer.allocUnsafe(Math.max(4_096, events.length * 512));
  let length = 0;
  const ends: number[] = [];
  for (const event of events) {
    const row = copyRow(event);
    const room = length + row.length * 3; // UTF-8: at most 3 bytes per UTF-16 unit
    if (room > bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(bytes.length * 2, room));
      bytes.copy(bigger, 0, 0, length);
      bytes = bigger;
    }
    length += bytes.write(row, length);
    ends.push(length);
  }
  return { bytes: bytes.subarray(0, length), ends };
}

/** The lines of the events `keep` selects. */
export function keptRows(rows: CopyRows, keep: (index: number) => boolean): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  rows.ends.forEach((end, i) => {
    if (keep(i)) parts.push(rows.bytes.subarray(start, end));
    start = end;
  });
  return Buffer.concat(parts);
}
