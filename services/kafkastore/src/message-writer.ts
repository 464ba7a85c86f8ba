import {
  canonicalParamValue,
  clientMetaOfHit,
  decodeParams,
  encodeEventType,
  encodeFormComponent,
  encodeParams,
  ipToHex,
  isCanonicalParams,
  type RawHit,
} from '@pushtech/event';
import type { Device } from './device.js';
import type { GeoLocation } from './geo-record.js';

/**
 * Writes the Kafka message of ARCHITECTURE.md for an enriched hit, byte for byte what
 * `encodeMessage` writes for the same event, without re-encoding what repeats. The meta's
 * device part and location part are encoded once per Device and GeoLocation object (both come
 * from caches, so the same object returns for the same User-Agent or address), event types,
 * hosts and pods once per distinct value, and params that are already canonical text (what the
 * tracker stores for plain query strings) pass through as they are.
 *
 * Expects a hit that decodeRawHit accepted: its id is a ULID, its ts an integer, its ip an
 * address, its type not empty.
 */
export interface MessageWriter {
  /** The message, and its key: the partition key param's value (null when unset or empty). */
  write(hit: RawHit, device: Device, geo: GeoLocation, ip: string, klag: number): WrittenMessage;
  /** The first value of a params field, '' counted as none. */
  paramValue(params: string, name: string): string | null;
}

export interface WrittenMessage {
  readonly value: string;
  readonly key: string | null;
}

interface DeviceFragments {
  /** `type=..&browser=..&engine=..&version=..&os=..` */
  readonly head: string;
  /** `&os_version=..&vendor=..&model=..` (those known) and `&bot=0|1` */
  readonly tail: string;
}

interface GeoFragments {
  /** `&country=..&city=..` */
  readonly middle: string;
  /** `&region=..&lat=..&lon=..` (those known) */
  readonly tail: string;
}

/** At most this many distinct types, hosts or pods are remembered; then the memo starts over. */
const MEMO_LIMIT = 10_000;

function memo(encode: (text: string) => string): (text: string) => string {
  const known = new Map<string, string>();
  return (text) => {
    let encoded = known.get(text);
    if (encoded === undefined) {
      encoded = encode(text);
      if (known.size >= MEMO_LIMIT) known.clear();
      known.set(text, encoded);
    }
    return encoded;
  };
}

// Exponent notation ("1e+21") carries a '+', which urlencoded text would read as a space;
// encodeFormComponent escapes it, as encodeMeta does.
const coordinate = (value: number): string => encodeFormComponent(String(value));

function deviceFragments(d: Device): DeviceFragments {
  const head =
    `type=${encodeFormComponent(d.type)}&browser=${encodeFormComponent(d.browser)}` +
    `&engine=${encodeFormComponent(d.engine)}&version=${encodeFormComponent(d.version)}` +
    `&os=${encodeFormComponent(d.os)}`;
  let tail = '';
  if (d.osVersion !== '') tail += `&os_version=${encodeFormComponent(d.osVersion)}`;
  if (d.vendor !== '') tail += `&vendor=${encodeFormComponent(d.vendor)}`;
  if (d.model !== '') tail += `&model=${encodeFormComponent(d.model)}`;
  tail += d.bot ? '&bot=1' : '&bot=0';
  return { head, tail };
}

function geoFragments(g: GeoLocation): GeoFragments {
  const middle = `&country=${encodeFormComponent(g.country)}&city=${encodeFormComponent(g.city)}`;
  let tail = '';
  if (g.region !== undefined) tail += `&region=${encodeFormComponent(g.region)}`;
  if (g.lat !== undefined && g.lon !== undefined) {
    if (!Number.isFinite(g.lat) || !Number.isFinite(g.lon)) {
      throw new TypeError(`meta: lat and lon must be finite numbers, got ${g.lat}, ${g.lon}`);
    }
    tail += `&lat=${coordinate(g.lat)}&lon=${coordinate(g.lon)}`;
  }
  return { middle, tail };
}

function paramValue(params: string, name: string, canonical: boolean): string | null {
  const value = canonical ? canonicalParamValue(params, name) : decodeParams(params).find(([key]) => key === name)?.[1];
  return value === undefined || value === '' ? null : value;
}

/** `partitionKey`: the params field whose value keys each message; '' for none. */
export function createMessageWriter(options: { partitionKey: string }): MessageWriter {
  const { partitionKey } = options;
  const devices = new WeakMap<Device, DeviceFragments>();
  const locations = new WeakMap<GeoLocation, GeoFragments>();
  const eventType = memo(encodeEventType);
  const host = memo(encodeFormComponent);
  const pod = memo(encodeFormComponent);

  return {
    write(hit, device, geo, ip, klag) {
      let d = devices.get(device);
      if (d === undefined) {
        d = deviceFragments(device);
        devices.set(device, d);
      }
      let g = locations.get(geo);
      if (g === undefined) {
        g = geoFragments(geo);
        locations.set(geo, g);
      }
      if (!Number.isSafeInteger(klag)) throw new TypeError(`meta: klag must be an integer, got ${klag}`);
      const ipHex = ipToHex(ip);
      if (!ipHex.ok) throw new TypeError(`meta: ${ipHex.error}`);
      const canonical = isCanonicalParams(hit.params);
      const params = canonical ? hit.params : encodeParams(decodeParams(hit.params));
      const value =
        `${eventType(hit.type)} ${d.head}&host=${host(hit.host)}&ts=${hit.ts}&ip=${ipHex.value}&klag=${klag}` +
        `${g.middle}&id=${hit.id}&pod=${pod(hit.pod)}${g.tail}${d.tail}${clientMetaOfHit(hit)} ${params}`;
      return { value, key: partitionKey === '' ? null : paramValue(hit.params, partitionKey, canonical) };
    },
    paramValue: (params, name) => paramValue(params, name, isCanonicalParams(params)),
  };
}
