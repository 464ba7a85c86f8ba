import { HttpError } from './http-error.js';
import { NO_HEADERS } from './http-exchange.js';

/**
 * Browser beacons come with an Origin header. With `*` every origin may send; otherwise only
 * listed ones, and a request from another origin is refused (403) rather than stored.
 */
export interface CorsPolicy {
  /**
   * Headers for a response to a request from `origin`; throws 403 for a refused origin. The
   * common answers are shared objects, not built per request.
   */
  headersFor(origin: string): Readonly<Record<string, string>>;
  /** The extra headers of a preflight answer (the origin headers come from headersFor). */
  preflightHeaders(): Record<string, string>;
}

/** Retry-After is exposed so that a script on another origin (the SDK) can honour it on 503/429. */
const EXPOSED = 'Retry-After';
const ANY_ORIGIN: Readonly<Record<string, string>> = Object.freeze({
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': EXPOSED,
});

export function createCorsPolicy(origins: readonly string[]): CorsPolicy {
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.toLowerCase().replace(/\/$/, '')));
  const headersFor = (origin: string): Readonly<Record<string, string>> => {
    if (origin === '') return NO_HEADERS;
    if (any) return ANY_ORIGIN;
    if (!allowed.has(origin.toLowerCase())) {
      throw new HttpError(403, 'origin not allowed', `requests from ${origin} are not accepted (TRACKER_CORS_ORIGINS)`);
    }
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSED, Vary: 'Origin' };
  };
  return {
    headersFor,
    preflightHeaders() {
      return {
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, X-Write-Key',
        'Access-Control-Max-Age': '86400',
      };
    },
  };
}
