import { encodeEventType } from './event-type.js';
import { encodeFormComponent } from './form-encoding.js';

/**
 * How large the Kafka message of a raw hit can get, known before kafkastore enriches it. The
 * type and the params go on the wire as the tracker encodes them; the meta adds enrichment of
 * bounded size, reserved here:
 * - META_FIXED_BYTES: the keys and separators, ts, ip (32 hex digits at most), klag, id (a
 *   ULID), bot, the device type (a word such as `Embedded`), and the client's id_src, ct, st
 *   and ets (about 80 bytes);
 * - the host and pod, as they will be encoded;
 * - META_DEVICE_FIELDS fields read from the User-Agent (browser, engine, version, os,
 *   os_version, vendor, model): each is a piece of the User-Agent, with at most
 *   META_DEVICE_NAME_BYTES of text the parser adds (a name from its tables, a suffix such as
 *   ` WebView`), so each is at most the encoded User-Agent plus that;
 * - META_GEO_BYTES for country, city, region, lat and lon from the GeoIP database (names of
 *   a few dozen characters).
 * Everything on the wire is ASCII (percent-encoded), so characters are bytes.
 */
export const META_FIXED_BYTES = 512;
export const META_DEVICE_FIELDS = 7;
export const META_DEVICE_NAME_BYTES = 64;
export const META_GEO_BYTES = 4_096;

/** The most bytes percent-encoding makes of one UTF-16 code unit (a 3-byte character: %XX%XX%XX). */
const MAX_ENCODED_PER_UNIT = 9;

/** What the tracker knows of an event when it receives it; `params` as stored (encoded). */
export interface MessageParts {
  readonly type: string;
  readonly params: string;
  readonly host: string;
  readonly pod: string;
  readonly ua: string;
}

const RESERVED = META_FIXED_BYTES + META_GEO_BYTES + META_DEVICE_FIELDS * META_DEVICE_NAME_BYTES + 2;

/** An upper bound of the message's size in bytes (the two spaces between the fields included). */
export function messageBytesBound(parts: MessageParts): number {
  const ua = encodeFormComponent(parts.ua).length;
  return (
    encodeEventType(parts.type).length +
    parts.params.length +
    encodeFormComponent(parts.host).length +
    encodeFormComponent(parts.pod).length +
    META_DEVICE_FIELDS * ua +
    RESERVED
  );
}

/**
 * The bound when it is above `limit`, else undefined. Nothing is encoded while the lengths
 * alone show the message fits, as they do for any request without a large body.
 */
export function messageBytesAbove(parts: MessageParts, limit: number): number | undefined {
  const coarse =
    parts.params.length +
    MAX_ENCODED_PER_UNIT *
      (parts.type.length + parts.host.length + parts.pod.length + META_DEVICE_FIELDS * parts.ua.length) +
    RESERVED;
  if (coarse <= limit) return undefined;
  const bound = messageBytesBound(parts);
  return bound > limit ? bound : undefined;
}
