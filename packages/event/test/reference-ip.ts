/**
 * Canonical address text from an independent implementation, the WHATWG URL host
 * serializer (RFC 5952 rules), with IPv4-mapped addresses written as dotted IPv4.
 */
export function referenceCanonicalIp(address: string): string {
  const host = new URL(`http://${address.includes(':') ? `[${address}]` : address}/`).hostname;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (mapped === null) return host.replace(/^\[|\]$/g, '');
  const high = Number.parseInt(mapped[1] ?? '', 16);
  const low = Number.parseInt(mapped[2] ?? '', 16);
  return `${high >>> 8}.${high & 255}.${low >>> 8}.${low & 255}`;
}
