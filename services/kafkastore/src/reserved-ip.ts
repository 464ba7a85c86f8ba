import { ipToHex } from '@pushtech/event';

// Private, loopback, link-local, shared, multicast and reserved ranges have no location: they
// are answered `XX` without a database lookup. Prefixes are over the 32-digit hex of the
// address as an IPv6 integer (IPv4 mapped to ::ffff:a.b.c.d), so both families share one test.
const RESERVED_IPV4: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], // "this" network
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // TEST-NET-1
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // TEST-NET-2
  [0xcb007100, 24], // TEST-NET-3
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];

// The table as shift and prefix per range, read by index: the check runs once per event, and
// destructuring each pair went through the iterator protocol, about 1.5 KB of garbage a call.
const SHIFTS = RESERVED_IPV4.map(([, bits]) => 32 - bits);
const PREFIXES = RESERVED_IPV4.map(([network, bits]) => network >>> (32 - bits));

/** True for IPv4 addresses (as 32-bit numbers) that cannot have a geographic location. */
export function isReservedIpv4(address: number): boolean {
  for (let i = 0; i < PREFIXES.length; i++) if (address >>> (SHIFTS[i] as number) === PREFIXES[i]) return true;
  return false;
}

/** True for addresses that cannot have a geographic location; false for public ones. */
export function isReservedIp(ip: string): boolean {
  const hex = ipToHex(ip);
  if (!hex.ok) return true;
  const full = hex.value.padStart(32, '0');
  if (full.startsWith('00000000000000000000ffff')) return isReservedIpv4(parseInt(full.slice(24), 16));
  const first = parseInt(full.slice(0, 4), 16);
  if (full.startsWith('0000000000000000000000000000')) return true; // ::, ::1, IPv4-compatible
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return true; // multicast
  if (full.startsWith('20010db8')) return true; // documentation
  return false;
}
