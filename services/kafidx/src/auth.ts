import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'kafidx_session';

/**
 * Token auth for the dashboard. The browser proves it knew the token once (login form or the
 * printed login URL) and then holds an HttpOnly, SameSite=Strict cookie whose value is an HMAC
 * of the token: nothing to store server-side, and changing the token logs everyone out. Every
 * comparison is constant-time.
 */
export class DashboardAuth {
  private readonly session: Buffer;
  private readonly token: Buffer;

  constructor(
    token: string,
    private readonly secureCookie: boolean,
  ) {
    this.token = digest(token);
    this.session = createHmac('sha256', token).update('kafidx-session-v1').digest();
  }

  acceptsToken(candidate: string | undefined): boolean {
    return candidate !== undefined && candidate !== '' && timingSafeEqual(digest(candidate), this.token);
  }

  /** The Set-Cookie value that logs a browser in. */
  sessionCookie(): string {
    const secure = this.secureCookie ? '; Secure' : '';
    return `${SESSION_COOKIE}=${this.session.toString('hex')}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200${secure}`;
  }

  hasSession(req: IncomingMessage): boolean {
    const value = cookie(req.headers.cookie ?? '', SESSION_COOKIE);
    if (value === undefined || !/^[0-9a-f]{64}$/.test(value)) return false;
    return timingSafeEqual(Buffer.from(value, 'hex'), this.session);
  }
}

function digest(s: string): Buffer {
  return createHmac('sha256', 'kafidx-token-compare').update(s).digest();
}

export function cookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A WebSocket may only be opened from the dashboard's own page (or a listed origin): a cookie
 * alone would let any web page a logged-in developer visits read the stream (CSWSH).
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
