import { quote } from './quote.js';
import { fail, ok, type Result } from './result.js';

// The original system's `ip`: the address as a 128-bit IPv6 integer in lowercase hex without
// leading zeros, IPv4 first mapped to ::ffff:a.b.c.d. This runs per event, so parsing works
// on char codes into a reused array of eight 16-bit groups rather than on BigInt or regexes.

const COLON = 58;
const DOT = 46;
const ZERO = 48;

// Address text takes either case; wire hex is lowercase only, so that equal addresses are
// equal strings.
const WIRE_HEX_VALUE = new Int8Array(128).fill(-1);
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  WIRE_HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/** Scratch groups; every exported function fills them before reading and never yields. */
const groups = new Uint16Array(8);

/** Encodes IPv4 or IPv6 text as the wire hex, e.g. `127.0.0.1` -> `ffff7f000001`. */
export function ipToHex(text: string): Result<string> {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text, 0);
    return typeof v4 === 'string' ? fail(v4) : ok(`ffff${hex16(v4 >>> 16)}${hex16(v4 & 0xffff)}`);
  }
  const error = parseIpv6(text);
  return error === undefined ? ok(groupsToHex()) : fail(error);
}

/** Decodes the wire hex to canonical address text (see canonicalIp). */
export function ipFromHex(hex: string): Result<string> {
  const error = parseHex(hex);
  return error === undefined ? ok(formatGroups()) : fail(error);
}

/**
 * Canonical text for an address: IPv4 and IPv4-mapped IPv6 as dotted IPv4, other IPv6 as
 * RFC 5952 text (lowercase, no leading zeros, the longest run of two or more zero groups
 * compressed to `::`).
 */
export function canonicalIp(text: string): Result<string> {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text, 0);
    // Parsing accepts only the canonical dotted form, so valid input is already canonical.
    return typeof v4 === 'string' ? fail(v4) : ok(text);
  }
  const error = parseIpv6(text);
  return error === undefined ? ok(formatGroups()) : fail(error);
}

/**
 * The address of a canonical dotted quad (`81.2.69.142`) as an unsigned 32-bit number, or
 * undefined for anything else (IPv6, invalid text), which the callers above then explain.
 */
export function ipv4Number(text: string): number | undefined {
  if (text.includes(':')) return undefined;
  const v4 = parseIpv4(text, 0);
  return typeof v4 === 'string' ? undefined : v4;
}

/**
 * Reads address text (what canonicalIp accepts) into eight 16-bit groups, IPv4 mapped into
 * ::ffff:0:0/96, for range checks that would otherwise need a 128-bit BigInt per address.
 * false for text canonicalIp refuses (`out` is then left as it was).
 */
export function ipGroups(text: string, out: Uint16Array): boolean {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text, 0);
    if (typeof v4 === 'string') return false;
    out.fill(0, 0, 5);
    out[5] = 0xffff;
    out[6] = v4 >>> 16;
    out[7] = v4 & 0xffff;
    return true;
  }
  if (parseIpv6(text) !== undefined) return false;
  out.set(groups);
  return true;
}

function invalid(text: string, why: string): string {
  return `ip: ${quote(text)} is not an IP address: ${why}`;
}

/** Parses a dotted quad from `start` to the end of `text`: the address, or a reason. */
function parseIpv4(text: string, start: number): number | string {
  const end = text.length;
  if (end === 0) return 'ip: empty address';
  let address = 0;
  let parts = 0;
  let i = start;
  for (;;) {
    const partStart = i;
    let part = 0;
    while (i < end && i - partStart < 4) {
      const code = text.charCodeAt(i);
      if (code < ZERO || code > ZERO + 9) break;
      part = part * 10 + code - ZERO;
      i++;
    }
    const digits = i - partStart;
    if (digits === 0) {
      return invalid(text, i < end ? `unexpected character ${quote(text.charAt(i))}` : 'empty IPv4 part');
    }
    // Leading zeros are read as octal by some parsers; refusing them leaves one meaning.
    if (digits > 1 && text.charCodeAt(partStart) === ZERO) return invalid(text, 'leading zero in an IPv4 part');
    if (part > 255) return invalid(text, 'IPv4 part above 255');
    address = address * 256 + part;
    parts++;
    if (i === end) break;
    if (text.charCodeAt(i) !== DOT) return invalid(text, `unexpected character ${quote(text.charAt(i))}`);
    if (parts === 4) return invalid(text, 'IPv4 needs 4 parts, got more');
    i++;
  }
  return parts === 4 ? address : invalid(text, `IPv4 needs 4 parts, got ${parts}`);
}

/** Parses IPv6 text into `groups`: undefined when valid, else a reason. */
function parseIpv6(text: string): string | undefined {
  const end = text.length;
  if (text.includes('%')) return invalid(text, 'zone ids are not allowed');
  let count = 0;
  let compressAt = -1;
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return invalid(text, 'starts with a single ":"');
    compressAt = 0;
    i = 2;
  }
  while (i < end) {
    if (count === 8) return invalid(text, 'more than 8 groups');
    const groupStart = i;
    let value = 0;
    while (i < end && i - groupStart < 5) {
      const code = text.charCodeAt(i);
      const digit = code < 128 ? (HEX_VALUE[code] ?? -1) : -1;
      if (digit < 0) break;
      value = value * 16 + digit;
      i++;
    }
    if (i < end && text.charCodeAt(i) === DOT) {
      if (count > 6) return invalid(text, 'more than 8 groups');
      const v4 = parseIpv4(text, groupStart);
      if (typeof v4 === 'string') return v4;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (i - groupStart > 4) return invalid(text, 'group with more than 4 hex digits');
    if (i === groupStart) {
      return invalid(text, i < end ? `unexpected character ${quote(text.charAt(i))}` : 'empty group');
    }
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== COLON) return invalid(text, `unexpected character ${quote(text.charAt(i))}`);
    i++;
    if (text.charCodeAt(i) === COLON) {
      if (compressAt >= 0) return invalid(text, 'more than one "::"');
      compressAt = count;
      i++;
    } else if (i === end) {
      return invalid(text, 'ends with a single ":"');
    }
  }
  if (compressAt < 0) return count === 8 ? undefined : invalid(text, `expected 8 groups, got ${count}`);
  // "::" stands for at least one zero group.
  if (count > 7) return invalid(text, '"::" with 8 other groups');
  const moved = count - compressAt;
  groups.copyWithin(8 - moved, compressAt, count);
  groups.fill(0, compressAt, 8 - moved);
  return undefined;
}

/** Parses wire hex into `groups`: undefined when valid, else a reason. */
function parseHex(hex: string): string | undefined {
  const length = hex.length;
  if (length === 0) return 'ip: empty hex';
  if (length > 32) return `ip: hex ${quote(hex)} has ${length} digits, at most 32 fit in 128 bits`;
  if (length > 1 && hex.charCodeAt(0) === ZERO) return `ip: hex ${quote(hex)} has a leading zero`;
  const offset = 32 - length;
  for (let g = 0; g < 8; g++) {
    let value = 0;
    for (let j = g * 4 - offset; j < g * 4 + 4 - offset; j++) {
      if (j < 0) continue;
      const code = hex.charCodeAt(j);
      const digit = code < 128 ? (WIRE_HEX_VALUE[code] ?? -1) : -1;
      if (digit < 0) return `ip: hex ${quote(hex)} has a character other than 0-9 a-f`;
      value = value * 16 + digit;
    }
    groups[g] = value;
  }
  return undefined;
}

function groupsToHex(): string {
  let g = 0;
  while (g < 8 && groups[g] === 0) g++;
  if (g === 8) return '0';
  let hex = (groups[g] ?? 0).toString(16);
  for (g++; g < 8; g++) hex += hex16(groups[g] ?? 0);
  return hex;
}

function formatGroups(): string {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return `${g6 >>> 8}.${g6 & 255}.${g7 >>> 8}.${g7 & 255}`;
  }
  // RFC 5952 4.2: compress the first longest run of zero groups, only if it is 2 or longer.
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8;) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    const start = g;
    while (g < 8 && groups[g] === 0) g++;
    if (g - start > bestLength) {
      bestStart = start;
      bestLength = g - start;
    }
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += '::';
      g += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (groups[g] ?? 0).toString(16);
  }
  return text;
}

function hex16(value: number): string {
  return (HEX_BYTE[value >>> 8] ?? '') + (HEX_BYTE[value & 255] ?? '');
}
