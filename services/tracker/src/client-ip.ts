import { canonicalIp } from '@pushtech/event';
import { inAnyRange, type Cidr } from './cidr.js';

/**
 * The client's address. The socket peer, unless the peer is a trusted proxy: then the
 * `X-Forwarded-For` chain (every line of the header, joined in order, RFC 9110 5.3) is walked
 * from the right (each proxy appends the address it saw) and the first address that is not itself
 * a trusted proxy is the client. A client can prepend anything, so nothing left of that point is
 * believed. Each hop is parsed by the code kafkastore decodes addresses with (`canonicalIp`): a
 * hop it would refuse (a zone id, garbage) proves nothing, and the peer is kept. `realIp` is an
 * `X-Real-IP` the caller chose to believe (TRACKER_TRUST_X_REAL_IP), used only without a chain.
 * The answer is canonical address text.
 */
export function clientIp(peer: string, forwardedFor: string, realIp: string, trusted: readonly Cidr[]): string {
  // captureRequest reads forwarding headers only from a trusted peer: without any, the answer is
  // the peer whatever the ranges say, so most requests skip a second range check.
  if (forwardedFor === '' && realIp === '') return peer;
  if (trusted.length === 0 || !inAnyRange(peer, trusted)) return peer;
  const chain = forwardedFor.split(',');
  let leftmost: string | undefined;
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const text = stripPort((chain[i] as string).trim());
    if (text === '') continue; // empty list elements (RFC 9110 5.6.1) carry nothing
    const hop = canonicalIp(text);
    if (!hop.ok) return peer; // a malformed chain proves nothing; keep what we know
    if (!inAnyRange(hop.value, trusted)) return hop.value;
    leftmost = hop.value;
  }
  if (leftmost !== undefined) return leftmost; // every hop a trusted proxy: the first of them
  const real = canonicalIp(stripPort(realIp.trim()));
  return realIp !== '' && real.ok ? real.value : peer;
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
