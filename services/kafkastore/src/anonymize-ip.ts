import { ipFromHex, ipToHex } from '@pushtech/event';

/**
 * IP_ANONYMIZE=truncate: the last IPv4 octet, or the last 80 bits of an IPv6 address, become
 * zero (the /24 and /48 that are commonly accepted as no longer personal). Works on the wire
 * hex so both families and IPv4-mapped text go through one path. Invalid text is returned as is
 * (the decoder already refused it).
 */
export function truncateIp(ip: string): string {
  const hex = ipToHex(ip);
  if (!hex.ok) return ip;
  const full = hex.value.padStart(32, '0');
  const isIpv4 = full.startsWith('00000000000000000000ffff');
  const truncated = isIpv4 ? `${full.slice(0, 30)}00` : `${full.slice(0, 12)}${'0'.repeat(20)}`;
  const text = ipFromHex(truncated.replace(/^0+(?=.)/, ''));
  return text.ok ? text.value : ip;
}

export type IpAnonymizer = (ip: string) => string;

export function ipAnonymizer(mode: 'none' | 'truncate'): IpAnonymizer {
  return mode === 'truncate' ? truncateIp : (ip) => ip;
}
