import { encodeClientMeta } from './client-fields.js';
import { encodeFormComponent } from './form-encoding.js';
import { isEventId } from './ids.js';
import { ipFromHex, ipToHex } from './ip.js';
import { decodeParams, type ParamList } from './params.js';
import { quote } from './quote.js';
import { fail, ok, type Result } from './result.js';

/** What kafkastore adds to a hit: the second field of the Kafka message. */
export interface EventMeta {
  // The original system's keys, in this order on the wire.
  /** Device type: Mobile, Tablet, Desktop, Bot, ... ('' when unknown). */
  type: string;
  browser: string;
  engine: string;
  version: string;
  os: string;
  host: string;
  /** Receive time, ms since the epoch. */
  ts: number;
  /** Client IP as text; on the wire the hex of the address as an IPv6 integer. */
  ip: string;
  /** Produce time minus receive time, ms; negative under clock skew. */
  klag: number;
  country: string;
  city: string;
  // Keys added by this system, after the original ones.
  /** Event id (ULID). */
  id: string;
  pod: string;
  region?: string;
  lat?: number;
  lon?: number;
  /** Wire key os_version. */
  osVersion?: string;
  vendor?: string;
  model?: string;
  /** Wire value 1 or 0. */
  bot?: boolean;
  // Keys the client's fields add (reserved params _id, _ct, _st; see client-fields.ts).
  /** Wire key id_src: 'client' when the device minted the id; absent when the tracker did. */
  idSource?: 'client' | 'tracker';
  /** Wire key ct: when the device created the event, ms since the epoch on the device's clock. */
  createdAt?: number;
  /** Wire key st: when the device sent it, ms since the epoch on the device's clock. */
  sentAt?: number;
  /** Wire key ets: the event time corrected for the device's clock skew, ts − (st − ct). */
  eventTime?: number;
  /** Keys this version does not know, in wire order, so that newer producers' keys survive. */
  extra: ParamList;
}

const requiredKeys = [
  'type',
  'browser',
  'engine',
  'version',
  'os',
  'host',
  'ts',
  'ip',
  'klag',
  'country',
  'city',
  'id',
  'pod',
] as const;
const optionalKeys = [
  'region',
  'lat',
  'lon',
  'os_version',
  'vendor',
  'model',
  'bot',
  'id_src',
  'ct',
  'st',
  'ets',
] as const;

/** The meta keys this version knows, in wire order; unknown keys (`extra`) follow them. */
export const metaKeys = [...requiredKeys, ...optionalKeys] as const;
export type MetaKey = (typeof metaKeys)[number];

const slotOf: ReadonlyMap<string, number> = new Map(metaKeys.map((key, slot) => [key, slot]));

const INTEGER = /^-?\d{1,16}$/;
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Throws a TypeError for values no decoder would take back: a non-integer ts, klag, ct, st or ets, an ip
 * that is not an address, an id that is not a ULID, a non-finite lat or lon, or an extra key
 * that is a known key.
 */
export function encodeMeta(meta: EventMeta): string {
  if (!Number.isSafeInteger(meta.ts) || meta.ts < 0) {
    throw new TypeError(`meta: ts must be a non-negative integer, got ${meta.ts}`);
  }
  if (!Number.isSafeInteger(meta.klag)) throw new TypeError(`meta: klag must be an integer, got ${meta.klag}`);
  const ip = ipToHex(meta.ip);
  if (!ip.ok) throw new TypeError(`meta: ${ip.error}`);
  if (!isEventId(meta.id)) throw new TypeError(`meta: id must be a ULID, got ${quote(meta.id)}`);
  let text =
    `type=${encodeFormComponent(meta.type)}&browser=${encodeFormComponent(meta.browser)}` +
    `&engine=${encodeFormComponent(meta.engine)}&version=${encodeFormComponent(meta.version)}` +
    `&os=${encodeFormComponent(meta.os)}&host=${encodeFormComponent(meta.host)}` +
    `&ts=${meta.ts}&ip=${ip.value}&klag=${meta.klag}` +
    `&country=${encodeFormComponent(meta.country)}&city=${encodeFormComponent(meta.city)}` +
    `&id=${meta.id}&pod=${encodeFormComponent(meta.pod)}`;
  if (meta.region !== undefined) text += `&region=${encodeFormComponent(meta.region)}`;
  if (meta.lat !== undefined) text += `&lat=${encodeCoordinate('lat', meta.lat)}`;
  if (meta.lon !== undefined) text += `&lon=${encodeCoordinate('lon', meta.lon)}`;
  if (meta.osVersion !== undefined) text += `&os_version=${encodeFormComponent(meta.osVersion)}`;
  if (meta.vendor !== undefined) text += `&vendor=${encodeFormComponent(meta.vendor)}`;
  if (meta.model !== undefined) text += `&model=${encodeFormComponent(meta.model)}`;
  if (meta.bot !== undefined) text += meta.bot ? '&bot=1' : '&bot=0';
  text += encodeClientMeta(meta);
  for (const [key, value] of meta.extra) {
    if (slotOf.has(key)) throw new TypeError(`meta: extra key "${key}" is a known key`);
    text += `&${encodeFormComponent(key)}=${encodeFormComponent(value)}`;
  }
  return text;
}

export function decodeMeta(field: string): Result<EventMeta> {
  // Values by position in metaKeys: a fixed-shape array is cheaper per message than an
  // object with keys added one by one.
  const values: Array<string | undefined> = new Array<string | undefined>(metaKeys.length).fill(undefined);
  const extra: Array<readonly [string, string]> = [];
  for (const pair of decodeParams(field)) {
    const slot = slotOf.get(pair[0]);
    if (slot === undefined) extra.push(pair);
    else if (values[slot] !== undefined) return fail(`meta: duplicate key "${pair[0]}"`);
    else values[slot] = pair[1];
  }
  const [type, browser, engine, version, os, host, tsText, ipHex, klagText, country, city, id, pod] = values;
  const [region, latText, lonText, osVersion, vendor, model, botText, idSource, ctText, stText, etsText] = values.slice(
    requiredKeys.length,
  );
  if (
    type === undefined ||
    browser === undefined ||
    engine === undefined ||
    version === undefined ||
    os === undefined ||
    host === undefined ||
    tsText === undefined ||
    ipHex === undefined ||
    klagText === undefined ||
    country === undefined ||
    city === undefined ||
    id === undefined ||
    pod === undefined
  ) {
    return fail(`meta: missing key "${requiredKeys[values.indexOf(undefined)] ?? ''}"`);
  }

  const ts = parseInteger(tsText);
  if (ts === undefined || ts < 0) return fail(`meta: ts is not a non-negative integer: ${quote(tsText)}`);
  const klag = parseInteger(klagText);
  if (klag === undefined) return fail(`meta: klag is not an integer: ${quote(klagText)}`);
  const ip = ipFromHex(ipHex);
  if (!ip.ok) return fail(`meta: ${ip.error}`);
  if (!isEventId(id)) return fail(`meta: id is not a ULID: ${quote(id)}`);

  const meta: EventMeta = {
    type,
    browser,
    engine,
    version,
    os,
    host,
    ts,
    ip: ip.value,
    klag,
    country,
    city,
    id,
    pod,
    extra,
  };
  if (region !== undefined) meta.region = region;
  if (latText !== undefined) {
    const lat = parseCoordinate(latText);
    if (lat === undefined) return fail(`meta: lat is not a finite number: ${quote(latText)}`);
    meta.lat = lat;
  }
  if (lonText !== undefined) {
    const lon = parseCoordinate(lonText);
    if (lon === undefined) return fail(`meta: lon is not a finite number: ${quote(lonText)}`);
    meta.lon = lon;
  }
  if (osVersion !== undefined) meta.osVersion = osVersion;
  if (vendor !== undefined) meta.vendor = vendor;
  if (model !== undefined) meta.model = model;
  if (botText !== undefined) {
    if (botText !== '1' && botText !== '0') return fail(`meta: bot is not 1 or 0: ${quote(botText)}`);
    meta.bot = botText === '1';
  }
  if (idSource !== undefined) {
    if (idSource !== 'client' && idSource !== 'tracker') {
      return fail(`meta: id_src is not client or tracker: ${quote(idSource)}`);
    }
    meta.idSource = idSource;
  }
  for (const [key, text, field] of [
    ['ct', ctText, 'createdAt'],
    ['st', stText, 'sentAt'],
    ['ets', etsText, 'eventTime'],
  ] as const) {
    if (text === undefined) continue;
    const value = parseInteger(text);
    if (value === undefined || value < 0) return fail(`meta: ${key} is not a non-negative integer: ${quote(text)}`);
    meta[field] = value;
  }
  return ok(meta);
}

function encodeCoordinate(key: 'lat' | 'lon', value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`meta: ${key} must be a finite number, got ${value}`);
  // Exponent notation ("1e+21") carries a '+', which urlencoded text would read as a space.
  return encodeFormComponent(String(value));
}

function parseInteger(text: string): number | undefined {
  if (!INTEGER.test(text)) return undefined;
  const value = Number(text);
  // "-0" is read as 0: the typed model has no negative zero.
  return Number.isSafeInteger(value) ? value + 0 : undefined;
}

function parseCoordinate(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value + 0 : undefined;
}
