import { encodeClientMeta } from './client-fields.js';
import { decodeFormComponent, encodeFormComponent } from './form-encoding.js';
import { isEventId } from './ids.js';
import { ipFromHex, ipToHex } from './ip.js';
import { decodeParams, type ParamList } from './params.js';
import { quote } from './quote.js';
import { fail, ok, type Result } from './result.js';
import { toWellFormed } from './well-formed.js';

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

/** `key=` for every known key, by slot: what the in-order scan of decodeMeta looks for. */
const keyPrefixes: readonly string[] = metaKeys.map((key) => `${key}=`);
const SLOT_CT = slotOf.get('ct') ?? -1;
const SLOT_ST = slotOf.get('st') ?? -1;
const SLOT_ETS = slotOf.get('ets') ?? -1;

/**
 * Decodes the meta field as decodeParams would split it, then checks each known key. Keys in
 * wire order, as encodeMeta writes them, are matched where they stand, without a pair, a key
 * string or a lookup each; from the first pair out of that order (another producer's order, an
 * unknown or escaped key, an empty pair) the rest goes through decodeParams' rules pair by
 * pair. Both give the same result for the same pairs.
 */
export function decodeMeta(field: string): Result<EventMeta> {
  const input = toWellFormed(field);
  const end = input.length;
  // Values by slot (position in metaKeys): a fixed-shape array is cheaper per message than an
  // object with keys added one by one.
  const values: Array<string | undefined> = new Array<string | undefined>(metaKeys.length).fill(undefined);
  // Most fields have no escape and no '+' at all: then no value needs decoding.
  const escaped = input.includes('%') || input.includes('+');
  let start = 0;
  // In order: each known key, present or not, may only come after the ones before it.
  for (let slot = 0; slot < keyPrefixes.length && start < end; slot++) {
    const prefix = keyPrefixes[slot] as string;
    if (!input.startsWith(prefix, start)) continue;
    let pairEnd = input.indexOf('&', start);
    if (pairEnd < 0) pairEnd = end;
    const text = input.slice(start + prefix.length, pairEnd);
    values[slot] = escaped ? decodeFormComponent(text) : text;
    start = pairEnd + 1;
  }
  const extra: Array<readonly [string, string]> = [];
  if (start < end) {
    for (const pair of decodeParams(start === 0 ? input : input.slice(start))) {
      const slot = slotOf.get(pair[0]);
      if (slot === undefined) extra.push(pair);
      else if (values[slot] !== undefined) return fail(`meta: duplicate key "${pair[0]}"`);
      else values[slot] = pair[1];
    }
  }
  // By position in metaKeys (requiredKeys, then optionalKeys).
  const type = values[0];
  const browser = values[1];
  const engine = values[2];
  const version = values[3];
  const os = values[4];
  const host = values[5];
  const tsText = values[6];
  const ipHex = values[7];
  const klagText = values[8];
  const country = values[9];
  const city = values[10];
  const id = values[11];
  const pod = values[12];
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
  const region = values[13];
  const latText = values[14];
  const lonText = values[15];
  const osVersion = values[16];
  const vendor = values[17];
  const model = values[18];
  const botText = values[19];
  const idSource = values[20];
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
  const createdAt = clientTime(values, SLOT_CT);
  if (typeof createdAt === 'string') return fail(createdAt);
  if (createdAt !== undefined) meta.createdAt = createdAt;
  const sentAt = clientTime(values, SLOT_ST);
  if (typeof sentAt === 'string') return fail(sentAt);
  if (sentAt !== undefined) meta.sentAt = sentAt;
  const eventTime = clientTime(values, SLOT_ETS);
  if (typeof eventTime === 'string') return fail(eventTime);
  if (eventTime !== undefined) meta.eventTime = eventTime;
  return ok(meta);
}

/** The time in `slot` (ct, st or ets) if present, or why it is refused. */
function clientTime(values: ReadonlyArray<string | undefined>, slot: number): number | string | undefined {
  const text = values[slot];
  if (text === undefined) return undefined;
  const value = parseInteger(text);
  if (value === undefined || value < 0) {
    return `meta: ${metaKeys[slot] ?? '?'} is not a non-negative integer: ${quote(text)}`;
  }
  return value;
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
