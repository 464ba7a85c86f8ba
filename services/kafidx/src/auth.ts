import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'kafidx_session';

/** One login: its id, when it was issued and when it ends (ms since the epoch). */
export interface Session {
  readonly id: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Logged-out sessions kept until their expiry; more than this at once logs everyone out. */
const MAX_REVOKED = 10_000;

const COOKIE_VALUE = /^v2\.([A-Za-z0-9_-]{22})\.(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

/**
 * Token auth for the dashboard. The browser proves it knew the token once (login form or the
 * printed login URL) and then holds an HttpOnly, SameSite=Strict cookie naming a session: its
 * random id, issue time and expiry, signed with HMAC-SHA256 under a key derived from the token.
 * A cookie whose signature, expiry or id does not hold is refused (constant-time compare); a
 * logged-out session's id stays refused until it would have expired. Changing the token ends
 * every session.
 *
 * The revocation list lives in this process: with several kafidx replicas a logout holds in the
 * replica that served it, and a restart forgets it (the session then lasts until its expiry).
 * If more than MAX_REVOKED logged-out sessions are still unexpired, every session issued so far
 * is ended instead of growing the list.
 */
export class DashboardAuth {
  private readonly token: Buffer;
  private readonly key: Buffer;
  /** Logged-out session ids, with the expiry after which the signature refuses them anyway. */
  private readonly revoked = new Map<string, number>();
  /** Sessions issued before this instant are ended (the revocation list overflowed). */
  private notBefore = 0;
  private readonly revokeListeners: ((ended: (session: Session) => boolean) => void)[] = [];

  constructor(
    token: string,
    private readonly options: { secureCookie: boolean; ttlSeconds: number; maxRevoked?: number },
  ) {
    this.token = digest(token);
    this.key = createHmac('sha256', token).update('kafidx-session-key-v2').digest();
  }

  acceptsToken(candidate: string | undefined): boolean {
    return candidate !== undefined && candidate !== '' && timingSafeEqual(digest(candidate), this.token);
  }

  /** A new session and the Set-Cookie value that logs a browser into it. */
  issue(now = Date.now()): { session: Session; setCookie: string } {
    const session: Session = {
      id: randomBytes(16).toString('base64url'),
      issuedAt: now,
      expiresAt: now + this.options.ttlSeconds * 1000,
    };
    const payload = `v2.${session.id}.${session.issuedAt}.${session.expiresAt}`;
    const value = `${payload}.${this.sign(payload).toString('base64url')}`;
    return { session, setCookie: this.cookieHeader(value, this.options.ttlSeconds) };
  }

  /** The Set-Cookie value that removes the cookie from the browser. */
  clearCookie(): string {
    return this.cookieHeader('', 0);
  }

  /** The request's session, if its cookie is genuine, unexpired and not logged out. */
  session(req: IncomingMessage, now = Date.now()): Session | undefined {
    const match = COOKIE_VALUE.exec(cookie(req.headers.cookie ?? '', SESSION_COOKIE) ?? '');
    if (!match) return undefined;
    const [, id = '', issued = '', expires = '', mac = ''] = match;
    const expected = this.sign(`v2.${id}.${issued}.${expires}`);
    if (!timingSafeEqual(Buffer.from(mac, 'base64url'), expected)) return undefined;
    const session: Session = { id, issuedAt: Number(issued), expiresAt: Number(expires) };
    return this.ended(session, now) ? undefined : session;
  }

  /** Whether a session (genuine when it was accepted) has expired or was logged out since. */
  ended(session: Session, now = Date.now()): boolean {
    return session.expiresAt <= now || session.issuedAt < this.notBefore || this.revoked.has(session.id);
  }

  /** Logs a session out: its cookie is refused from now on, and listeners close its sockets. */
  revoke(session: Session, now = Date.now()): void {
    for (const [id, expiresAt] of this.revoked) if (expiresAt <= now) this.revoked.delete(id);
    if (this.revoked.size >= (this.options.maxRevoked ?? MAX_REVOKED)) {
      this.revoked.clear();
      this.notBefore = now + 1;
    } else {
      this.revoked.set(session.id, session.expiresAt);
    }
    for (const listener of this.revokeListeners) listener((s) => this.ended(s, now));
  }

  /** Called after each logout with a test telling which sessions have ended. */
  onRevoke(listener: (ended: (session: Session) => boolean) => void): void {
    this.revokeListeners.push(listener);
  }

  /** Logged-out sessions remembered now (bounded by maxRevoked). */
  get revokedCount(): number {
    return this.revoked.size;
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }

  private cookieHeader(value: string, maxAge: number): string {
    const secure = this.options.secureCookie ? '; Secure' : '';
    return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure}`;
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

/** An origin as browsers send it (scheme://host[:port], default port left out), or undefined. */
export function normalOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * A WebSocket may only be opened from the dashboard's own page (or a listed origin): a cookie
 * alone would let any web page a logged-in developer visits read the stream (CSWSH). The page's
 * origin is compared whole (scheme, host and port): the public origin when kafidx sits behind a
 * proxy that changes it (TLS), else http://<Host> as this plain-HTTP server is reached.
 */
export function originAllowed(
  req: IncomingMessage,
  options: { publicOrigin: string; allowed: readonly string[] },
): boolean {
  const origin = req.headers.origin === undefined ? undefined : normalOrigin(req.headers.origin);
  if (origin === undefined) return false;
  if (options.allowed.some((a) => normalOrigin(a) === origin)) return true;
  const own =
    options.publicOrigin !== ''
      ? normalOrigin(options.publicOrigin)
      : req.headers.host === undefined
        ? undefined
        : normalOrigin(`http://${req.headers.host}`);
  return own !== undefined && own === origin;
}
