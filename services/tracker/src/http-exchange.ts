import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
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
  readonly forwardedFor: string;
  readonly realIp: string;
  readonly writeKey: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly contentType?: string;
}

const decoder = new TextDecoder();

export function captureRequest(res: HttpResponse, req: HttpRequest): IncomingRequest {
  return {
    method: req.getMethod(),
    url: req.getUrl(),
    query: req.getQuery() ?? '',
    param: req.getParameter(0) ?? '',
    peer: decoder.decode(res.getRemoteAddressAsText()),
    host: req.getHeader('host'),
    userAgent: req.getHeader('user-agent'),
    contentType: req.getHeader('content-type'),
    origin: req.getHeader('origin'),
    forwardedFor: req.getHeader('x-forwarded-for'),
    realIp: req.getHeader('x-real-ip'),
    writeKey: req.getHeader('x-write-key'),
  };
}

/**
 * Reads a request body up to `limit` bytes. uWS neuters each chunk's memory after the callback,
 * so chunks are copied. Over the limit: 413 at once, without reading the rest.
 */
export function readBody(res: HttpResponse, limit: number, aborted: () => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done || aborted()) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, 'body too large', `the body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        done = true;
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
      }
    });
  });
}

/** Writes a reply in one corked write; closes the connection when asked (shutdown, 413). */
export function sendReply(res: HttpResponse, reply: Reply, method: string, extraHeaders: Readonly<Record<string, string>>, close: boolean): void {
  res.cork(() => {
    res.writeStatus(statusText[reply.status] ?? `${reply.status} Status`);
    for (const [k, v] of Object.entries(extraHeaders)) res.writeHeader(k, v);
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
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
