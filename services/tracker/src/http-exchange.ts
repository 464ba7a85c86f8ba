import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { inAnyRange, type Cidr } from './cidr.js';
import type { ClientAbort } from './client-abort.js';
import { HttpError, statusText } from './http-error.js';

/**
 * What a handler may know about a request. uWebSockets.js hands the request object only for the
 * synchronous part of the callback, so everything is copied out before the first await.
 */
export interface IncomingRequest {
  readonly method: string;
  readonly url: string;
  readonly query: string;
  readonly param: string;
  readonly peer: string;
  readonly host: string;
  readonly userAgent: string;
  readonly contentType: string;
  readonly origin: string;
  /** Every `X-Forwarded-For` line in order, comma-joined; only from a trusted proxy. */
  readonly forwardedFor: string;
  /** `X-Real-IP` (all lines, comma-joined); only from a trusted proxy, and only when believed. */
  readonly realIp: string;
  readonly writeKey: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly contentType?: string;
}

/** Which optional headers matter under the current configuration (each read crosses into C++). */
export interface HeaderNeeds {
  /** Forwarding headers are read only when the peer is in one of these ranges. */
  readonly proxies: readonly Cidr[];
  /** Whether X-Real-IP is believed at all (TRACKER_TRUST_X_REAL_IP). */
  readonly realIp: boolean;
  readonly writeKey: boolean;
}

export function captureRequest(res: HttpResponse, req: HttpRequest, needs: HeaderNeeds): IncomingRequest {
  const method = req.getMethod();
  const peer = peerAddress(res.getRemoteAddress());
  const forwarded =
    needs.proxies.length > 0 && inAnyRange(peer, needs.proxies) ? forwardingHeaders(req, needs.realIp) : NOT_FORWARDED;
  return {
    method,
    url: req.getUrl(),
    query: req.getQuery() ?? '',
    param: req.getParameter(0) ?? '',
    peer,
    host: req.getHeader('host'),
    userAgent: req.getHeader('user-agent'),
    contentType: method === 'post' ? req.getHeader('content-type') : '',
    origin: req.getHeader('origin'),
    forwardedFor: forwarded.forwardedFor,
    realIp: forwarded.realIp,
    writeKey: needs.writeKey ? req.getHeader('x-write-key') : '',
  };
}

const NOT_FORWARDED = { forwardedFor: '', realIp: '' } as const;

/**
 * Every line of the forwarding headers, in order. `getHeader` returns only the first line of a
 * repeated header, and a proxy that appends its own line (HAProxy's `option forwardfor`) puts the
 * address it saw last, so the first line alone is whatever the client sent. Repeated lines are
 * one comma list (RFC 9110 5.3). Costs about 0.6 µs per request more than one getHeader, paid
 * only for requests from a trusted proxy.
 */
function forwardingHeaders(req: HttpRequest, realIpBelieved: boolean): { forwardedFor: string; realIp: string } {
  let forwardedFor = '';
  let realIp = '';
  req.forEach((key, value) => {
    if (key === 'x-forwarded-for') forwardedFor = forwardedFor === '' ? value : `${forwardedFor},${value}`;
    else if (realIpBelieved && key === 'x-real-ip') realIp = realIp === '' ? value : `${realIp},${value}`;
  });
  return { forwardedFor, realIp };
}

/**
 * The peer's address in canonical text from its binary form: dotted IPv4 for IPv4 (also when
 * the socket reports it IPv4-mapped), RFC 5952 text for IPv6.
 */
export function peerAddress(raw: ArrayBuffer): string {
  const bytes = new Uint8Array(raw);
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return '';
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i += 1) if (bytes[i] !== 0) mapped = false;
  if (mapped) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // The longest run of two or more zero groups becomes '::' (RFC 5952).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Reads a request body up to `limit` bytes. uWS neuters each chunk's memory after the callback,
 * so chunks are copied. Over the limit: 413 at once, without reading the rest. A client that
 * goes away mid-body settles it at once too (an HttpError nobody will read; the route counts it
 * as aborted), and the chunks read so far are let go.
 */
export function readBody(res: HttpResponse, limit: number, abort: ClientAbort): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (abort.aborted) {
      reject(clientGone());
      return;
    }
    let chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    abort.whenAborted(() => {
      if (done) return;
      done = true;
      chunks = [];
      reject(clientGone());
    });
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        abort.forget();
        chunks = [];
        reject(new HttpError(413, 'body too large', `the body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        done = true;
        abort.forget();
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
      }
    });
  });
}

function clientGone(): HttpError {
  return new HttpError(400, 'aborted', 'the client closed the connection before the body was complete');
}

/** No extra headers; sendReply skips it without enumerating. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Writes a reply in one corked write; closes the connection when asked (shutdown, 413). */
export function sendReply(
  res: HttpResponse,
  reply: Reply,
  method: string,
  extraHeaders: Readonly<Record<string, string>>,
  close: boolean,
): void {
  res.cork(() => {
    res.writeStatus(statusText[reply.status] ?? `${reply.status} Status`);
    if (extraHeaders !== NO_HEADERS) for (const k in extraHeaders) res.writeHeader(k, extraHeaders[k] as string);
    const headers = reply.headers;
    if (headers) for (const k in headers) res.writeHeader(k, headers[k] as string);
    if (reply.body !== undefined && reply.contentType) res.writeHeader('Content-Type', reply.contentType);
    if (reply.status === 204 || reply.status === 304) {
      // No Content-Length on a 204 (RFC 9110). The native binding counts arguments, so an
      // explicit `undefined` is not the same as leaving the argument out.
      if (close) res.endWithoutBody(0, true);
      else res.endWithoutBody();
    } else if (method === 'head') {
      res.endWithoutBody(reply.body === undefined ? 0 : Buffer.byteLength(reply.body), close);
    } else {
      res.end(reply.body ?? '', close);
    }
  });
}

export function errorReply(error: HttpError): Reply {
  return { status: error.status, headers: error.headers, body: error.body(), contentType: 'application/json' };
}
