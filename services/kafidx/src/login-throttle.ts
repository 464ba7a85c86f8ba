import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Client addresses tracked at once; the oldest window is forgotten beyond this. */
const MAX_ADDRESSES = 10_000;
const WINDOW_MS = 60_000;

/**
 * Wrong tokens per client address: after `maxFailures` in a minute, that address is refused
 * (429) until the minute is over, right token or not, so guessing the token takes minutes per
 * handful of tries instead of milliseconds. Memory is bounded: at most MAX_ADDRESSES windows,
 * expired ones dropped first, then the oldest.
 */
export class LoginThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfter(address: string, now = Date.now()): number {
    const window = this.windows.get(address);
    if (!window || now - window.start >= WINDOW_MS) return 0;
    return window.failures >= this.maxFailures ? Math.ceil((window.start + WINDOW_MS - now) / 1000) : 0;
  }

  failed(address: string, now = Date.now()): void {
    const window = this.windows.get(address);
    if (window && now - window.start < WINDOW_MS) {
      window.failures += 1;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= this.maxAddresses) this.forgetOldest(now);
    this.windows.set(address, { start: now, failures: 1 });
  }

  succeeded(address: string): void {
    this.windows.delete(address);
  }

  get size(): number {
    return this.windows.size;
  }

  private forgetOldest(now: number): void {
    for (const [address, window] of this.windows) {
      if (now - window.start >= WINDOW_MS) this.windows.delete(address);
    }
    // Insertion order is start order: the first entry is the oldest window.
    while (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next();
      if (oldest.done === true) break;
      this.windows.delete(oldest.value);
    }
  }
}

/** The trusted proxy ranges of KAFIDX_TRUSTED_PROXIES; throws naming the bad entry. */
export function trustedProxies(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits = ''] = cidr.split('/');
    const family = isIP(address);
    const prefix = Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`KAFIDX_TRUSTED_PROXIES: ${JSON.stringify(cidr)} is not a CIDR (e.g. 10.0.0.0/8)`);
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (list.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
  // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  return mapped !== undefined && list.check(mapped, 'ipv4');
}

/**
 * The address a login is throttled by: the socket's peer, unless the peer is a trusted proxy;
 * then X-Forwarded-For is read from the right and the first hop that is not a trusted proxy is
 * the client (anything left of it could have been written by the client).
 */
export function clientAddress(req: IncomingMessage, proxies: BlockList): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!trusted(proxies, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => h.trim());
  let client = peer;
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const hop = chain[i] ?? '';
    if (hop === '') continue;
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trusted(proxies, hop)) return hop;
  }
  return client;
}
