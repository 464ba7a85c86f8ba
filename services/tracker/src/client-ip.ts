import { isIP } from 'node:net';
import { inAnyRange, type Cidr } from './cidr.js';

/**
 * The client's address. The socket peer, unless the peer is a trusted proxy: then the
 * `X-Forwarded-For` chain is walked from the right (each proxy appends the address it saw) and
 * the first address that is not itself a trusted proxy is the client. A client can prepend
 * anything to the header, so nothing left of that point is believed. `X-Real-IP` is used when
 * a trusted peer sent no X-Forwarded-For.
 */
export function clientIp(peer: string, forwardedFor: string, realIp: string, trusted: readonly Cidr[]): string {
  if (trusted.length === 0 || !inAnyRange(peer, trusted)) return peer;
  const chain = forwardedFor
    .split(',')
    .map((s) => stripPort(s.trim()))
    .filter((s) => s !== '');
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const hop = chain[i] as string;
    if (isIP(hop) === 0) return peer; // a malformed chain proves nothing; keep what we know
    if (!inAnyRange(hop, trusted)) return hop;
  }
  if (chain.length === 0) {
    const real = stripPort(realIp.trim());
    if (isIP(real) !== 0) return real;
  }
  return chain[0] ?? peer;
}

/** `1.2.3.4:5678` and `[::1]:5678` carry a port some proxies append. */
function stripPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end > 0 ? hop.slice(1, end) : hop;
  }
  const colon = hop.indexOf(':');
  return colon > 0 && hop.indexOf(':', colon + 1) === -1 ? hop.slice(0, colon) : hop;
}
