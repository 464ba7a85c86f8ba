import { isIP } from 'node:net';
import { ipGroups, ipv4Number } from '@pushtech/event';

/**
 * An address range for trusted-proxy checks. Addresses are compared as 128 bits, with IPv4 mapped
 * into ::ffff:0:0/96, so `10.0.0.0/8` also matches `::ffff:10.1.2.3` (how a dual-stack socket
 * reports an IPv4 peer). Ranges are parsed once with BigInt; a checked address, per request and
 * per forwarded hop, in 32-bit numbers (a dotted quad) or in eight 16-bit groups (anything else).
 */
export interface Cidr {
  readonly text: string;
  contains(ip: string): boolean;
  /** A dotted quad, already parsed into its 32-bit number. */
  containsQuad(quad: number): boolean;
  /** Any address, already parsed into eight 16-bit groups (IPv4 mapped; see ipGroups). */
  containsGroups(address: Uint16Array): boolean;
}

/** Scratch for inAnyRange, which fills it before reading and never yields. */
const scratch = new Uint16Array(8);

/**
 * Whether `ip` is in any of `ranges`; the address is parsed once for all of them. `ip` is address
 * text as canonicalIp reads it (no brackets, no zone id): anything else is in no range.
 */
export function inAnyRange(ip: string, ranges: readonly Cidr[]): boolean {
  const quad = ipv4Number(ip);
  if (quad !== undefined) {
    for (const range of ranges) if (range.containsQuad(quad)) return true;
    return false;
  }
  if (!ipGroups(ip, scratch)) return false;
  for (const range of ranges) if (range.containsGroups(scratch)) return true;
  return false;
}

const MAPPED_IPV4 = 0xffff00000000n;
const LOW_32 = 0xffffffffn;

export function addressToBigInt(ip: string): bigint | undefined {
  const text = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const version = isIP(text);
  if (version === 4) return MAPPED_IPV4 | ipv4ToBigInt(text);
  if (version !== 6) return undefined;
  return ipv6ToBigInt(text);
}

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(text: string): bigint {
  let body = text.split('%')[0] ?? text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4?.[1]) {
    const n = ipv4ToBigInt(v4[1]);
    body = `${body.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = body.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr = '', prefixText] = text.trim().split('/');
  const base = addressToBigInt(addr);
  if (base === undefined) return undefined;
  const isV4 = isIP(addr) === 4;
  const maxPrefix = isV4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > maxPrefix ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    return undefined;
  }
  const bits = BigInt((isV4 ? 96 : 0) + prefix);
  const mask = bits === 0n ? 0n : ((1n << 128n) - 1n) ^ ((1n << (128n - bits)) - 1n);
  const network = base & mask;
  // Dotted quads (most peers and forwarded hops) are compared in 32-bit numbers with the range's
  // part of ::ffff:0:0/96, however the range was written (an IPv6 range may cover all of it or
  // none); everything else in 128 bits.
  const high = (mask >> 32n) << 32n;
  const v4 =
    (network & high) === (MAPPED_IPV4 & high)
      ? { mask: Number(mask & LOW_32), network: Number(network & LOW_32) }
      : undefined;
  // The groups the prefix reaches, each with its mask and network bits.
  const groupMask = toGroups(mask);
  const groupNetwork = toGroups(network);
  const reached = Math.ceil(Number(bits) / 16);
  const cidr: Cidr = {
    text: text.trim(),
    contains: (ip) => inAnyRange(ip, [cidr]),
    containsQuad: (quad) => v4 !== undefined && (quad & v4.mask) >>> 0 === v4.network,
    containsGroups: (address) => {
      for (let g = 0; g < reached; g += 1) {
        if (((address[g] as number) & (groupMask[g] as number)) !== groupNetwork[g]) return false;
      }
      return true;
    },
  };
  return cidr;
}

function toGroups(value: bigint): Uint16Array {
  const out = new Uint16Array(8);
  for (let g = 0; g < 8; g += 1) out[g] = Number((value >> BigInt(112 - g * 16)) & 0xffffn);
  return out;
}

export function parseCidrList(items: readonly string[]): Cidr[] | string {
  const result: Cidr[] = [];
  for (const item of items) {
    const cidr = parseCidr(item);
    if (!cidr) return item;
    result.push(cidr);
  }
  return result;
}
