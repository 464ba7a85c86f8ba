import { readFileSync } from 'node:fs';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { decodeParams, type ParamList } from '@pushtech/event';
import { answerOpsRequest, type Logger, type Probes, type Registry } from '@pushtech/runtime/core';
import { parseBatch } from './batch.js';
import { ClientAbort } from './client-abort.js';
import type { CorsPolicy } from './cors.js';
import { decodeEventName } from './event-name.js';
import { HttpError } from './http-error.js';
import {
  NO_HEADERS,
  captureRequest,
  errorReply,
  readBody,
  sendReply,
  type IncomingRequest,
  type Reply,
} from './http-exchange.js';
import type { HitStore } from './hit-store.js';
import type { TrackerMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { redirectTarget } from './redirect.js';
import { bodyParams } from './request-params.js';
import {
  admit,
  admitClient,
  chargeEvents,
  checkQueryLength,
  isCanonicalQuery,
  storeHits,
  toRawHits,
  withoutWriteKey,
  type TrackedEvent,
  type TrackingPolicy,
} from './tracking.js';

/** A 1×1 transparent GIF for `<img>` pixels and e-mails. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface TrackerServerDeps {
  readonly store: HitStore;
  readonly policy: TrackingPolicy;
  readonly cors: CorsPolicy;
  readonly redirectHosts: readonly string[];
  readonly maxBodyBytes: number;
  readonly probes: Probes;
  readonly registry: Registry;
  /**
   * What /metrics serves instead of `registry` alone: a worker of a supervisor (TRACKER_WORKERS
   * > 1) serves every worker's metrics, aggregated (see workers.ts).
   */
  readonly metricsText?: (() => Promise<string>) | undefined;
  readonly metrics: TrackerMetrics;
  readonly logger: Logger;
  readonly tls?: { certFile: string; keyFile: string } | undefined;
}

export interface TrackerServer {
  /**
   * Starts listening; resolves with the bound port (useful with port 0 in tests). The port is
   * the tracker's alone, unless `shared` (a worker beside others of one supervisor: SO_REUSEPORT).
   * Otherwise a second process on the same port would get a share of its connections from the
   * kernel, silently: requests answered by another tracker and pushed to another Redis.
   */
  listen(host: string, port: number, options?: { shared?: boolean }): Promise<number>;
  /**
   * Stops accepting connections and answers 503 + `Connection: close` to any request still
   * arriving on an open one; gives the requests in flight up to `graceMs` to be answered (each
   * with `Connection: close`), then closes every connection (idle keep-alive ones, and those
   * still in flight, whose clients get no answer) and resolves once every request has settled.
   */
  close(graceMs: number): Promise<void>;
  readonly inFlight: number;
}

/** Answer `reply` once the raw hit `storeFirst` is confirmed by Redis. */
interface StoreThenReply {
  readonly storeFirst: string;
  readonly reply: Reply;
}

type Handler = (
  request: IncomingRequest,
  res: HttpResponse,
  aborted: ClientAbort,
) => Promise<Reply> | Reply | StoreThenReply;

/**
 * `app.close()` (closes every socket of the app) and `listen(host, port, options, cb)` are in
 * this uWS build but not in its typings.
 */
type ClosableApp = TemplatedApp & {
  close(): void;
  listen(
    host: string,
    port: number,
    options: ListenOption,
    cb: (listenSocket: us_listen_socket | false) => void,
  ): TemplatedApp;
};

/**
 * uSockets' listen options (the typings' ListenOptions enum, which the module does not export;
 * it exports LIBUS_LISTEN_EXCLUSIVE_PORT, 1, undeclared). The default sets SO_REUSEPORT, so any
 * process of the same user can listen on the same port as well.
 */
const LISTEN_SHARED = 0;
const LISTEN_EXCLUSIVE = 1;
type ListenOption = typeof LISTEN_SHARED | typeof LISTEN_EXCLUSIVE;

/** Sent to a request that arrives on an open connection after shutdown began. */
const shuttingDown: Reply = errorReply(
  new HttpError(503, 'shutting down', 'this tracker is stopping; retry, a new connection reaches another one', {
    // A new connection goes to another instance at once.
    'Retry-After': '1',
  }),
);

/** Builds the tracker's HTTP app without listening, so tests can drive it on port 0. */
export function createTrackerServer(deps: TrackerServerDeps): TrackerServer {
  const app = (
    deps.tls ? uWS.SSLApp({ cert_file_name: deps.tls.certFile, key_file_name: deps.tls.keyFile }) : uWS.App()
  ) as ClosableApp;
  if (deps.tls) {
    // Fail at start-up, with the file named, rather than on the first TLS handshake.
    readFileSync(deps.tls.certFile);
    readFileSync(deps.tls.keyFile);
  }
  let inFlight = 0;
  let trackingInFlight = 0;
  deps.metrics.onCollectInFlight(() => trackingInFlight);
  let closing = false;
  const needs = {
    proxies: deps.policy.trustedProxies,
    realIp: deps.policy.trustRealIp,
    writeKey: deps.policy.writeKeys.required,
  };
  // Schemas and write keys look into the params; without them plain queries need no decoding.
  const fastParams = !deps.policy.schemasEnabled && !deps.policy.writeKeys.required;
  let listenSocket: us_listen_socket | undefined;
  const drained: (() => void)[] = [];

  const finish = (
    request: IncomingRequest,
    res: HttpResponse,
    countRequest: (status: number | 'aborted') => void,
    browserFacing: boolean,
    cors: Readonly<Record<string, string>>,
    abort: ClientAbort,
    reply: Reply,
  ): void => {
    if (abort.aborted) countRequest('aborted');
    else {
      countRequest(reply.status);
      sendReply(res, reply, request.method, cors, closing || reply.status === 413);
    }
    inFlight -= 1;
    if (browserFacing) trackingInFlight -= 1;
    if (closing && inFlight === 0) for (const wake of drained.splice(0)) wake();
  };

  const failureReply = (error: unknown, name: string): Reply => {
    if (error instanceof HttpError) return errorReply(error);
    deps.logger.error({ err: error, route: name }, 'request failed');
    return errorReply(new HttpError(500, 'internal error', 'the tracker failed to handle the request'));
  };

  const route = (name: string, handler: Handler, browserFacing = true) => {
    const countRequest = deps.metrics.requestCounter(name);
    return (res: HttpResponse, req: HttpRequest): void => {
      const request = captureRequest(res, req, needs);
      const aborted = new ClientAbort(res);
      inFlight += 1;
      if (browserFacing) trackingInFlight += 1;
      let cors: Readonly<Record<string, string>> = NO_HEADERS;
      const done = (reply: Reply): void => finish(request, res, countRequest, browserFacing, cors, aborted, reply);
      if (closing) {
        // A keep-alive connection outlives the listen socket: nothing more is taken on it.
        done(shuttingDown);
        return;
      }
      try {
        // Tracking routes serve browser beacons; ops routes ignore Origin.
        if (browserFacing) cors = deps.cors.headersFor(request.origin);
        const outcome = handler(request, res, aborted);
        if (outcome instanceof Promise) {
          outcome.then(done, (error: unknown) => done(failureReply(error, name)));
        } else if ('storeFirst' in outcome) {
          // The pixel hot path: no promise per request, the LPUSH confirmation answers it.
          deps.store.storeThen(outcome.storeFirst, (error) => done(error ? errorReply(error) : outcome.reply));
        } else {
          done(outcome);
        }
      } catch (error: unknown) {
        done(failureReply(error, name));
      }
    };
  };

  /**
   * Admission, schemas and raw hits for events about to be stored; throws on a refusal. A request
   * with a body passed admitClient before it was read (`admittedIp`) and is only charged here.
   */
  const prepare = (
    request: IncomingRequest,
    events: readonly TrackedEvent[],
    queryParamsForKey: ParamList,
    indexed: boolean,
    admittedIp?: string,
  ): string[] => {
    const receivedAt = Date.now();
    let ip = admittedIp;
    if (ip === undefined) ip = admit(request, deps.policy, queryParamsForKey, events.length);
    else chargeEvents(deps.policy.rateLimiter, ip, events.length);
    return toRawHits(request, deps.policy, ip, receivedAt, events, indexed);
  };

  const track = async (
    request: IncomingRequest,
    events: readonly TrackedEvent[],
    queryParamsForKey: ParamList,
    indexed: boolean,
    admittedIp?: string,
  ): Promise<number> => {
    const hits = prepare(request, events, queryParamsForKey, indexed, admittedIp);
    await storeHits(deps.store, hits);
    return hits.length;
  };

  const noContent: Reply = { status: 204, headers: { 'Cache-Control': 'no-store' } };
  const pixel: Reply = {
    status: 200,
    body: PIXEL,
    contentType: 'image/gif',
    headers: { 'Cache-Control': 'no-store, max-age=0' },
  };

  const single: Handler = (request, res, aborted) => {
    checkQueryLength(request);
    const method = request.method;
    if (method === 'options') return { status: 204, headers: deps.cors.preflightHeaders() };
    if (method !== 'get' && method !== 'head' && method !== 'post') {
      throw new HttpError(405, 'method not allowed', `${method.toUpperCase()} is not supported on /t/<event>`, {
        Allow: 'GET, HEAD, POST, OPTIONS',
      });
    }
    const gif = request.param.endsWith('.gif');
    const type = decodeEventName(gif ? request.param.slice(0, -4) : request.param);
    const reply = gif ? pixel : noContent;
    if (method !== 'post' && fastParams && (request.query === '' || isCanonicalQuery(request.query))) {
      // Plain pixels: the query is stored as it came (already canonical), without a promise.
      const [hit] = prepare(request, [{ type, params: [], encodedParams: request.query }], [], false);
      return { storeFirst: hit as string, reply };
    }
    return (async () => {
      const query = decodeParams(request.query);
      let params = query;
      let admittedIp: string | undefined;
      if (method === 'post') {
        // Write key and rate limit before the body: a refused client costs no buffered body.
        admittedIp = admitClient(request, deps.policy, query);
        const body = await readBody(res, deps.maxBodyBytes, aborted);
        params = [...query, ...bodyParams(request.contentType, body.toString('utf8'))];
      }
      await track(request, [{ type, params: withoutWriteKey(params) }], query, false, admittedIp);
      return reply;
    })();
  };

  const batch: Handler = async (request, res, aborted) => {
    checkQueryLength(request);
    if (request.method === 'options') return { status: 204, headers: deps.cors.preflightHeaders() };
    if (request.method !== 'post') {
      throw new HttpError(
        405,
        'method not allowed',
        `${request.method.toUpperCase()} is not supported on /t; POST a batch`,
        { Allow: 'POST, OPTIONS' },
      );
    }
    const query = decodeParams(request.query);
    // Write key and rate limit before the body: a refused client costs no buffered body.
    const admittedIp = admitClient(request, deps.policy, query);
    const body = await readBody(res, deps.maxBodyBytes, aborted);
    const items = parseBatch(body.toString('utf8'));
    const accepted = await track(request, items, query, true, admittedIp);
    return { status: 200, body: JSON.stringify({ accepted }), contentType: 'application/json' };
  };

  const click: Handler = async (request) => {
    checkQueryLength(request);
    if (request.method === 'options') return { status: 204, headers: deps.cors.preflightHeaders() };
    if (request.method !== 'get' && request.method !== 'head') {
      throw new HttpError(405, 'method not allowed', `${request.method.toUpperCase()} is not supported on /r/<event>`, {
        Allow: 'GET, HEAD',
      });
    }
    const type = decodeEventName(request.param);
    const query = decodeParams(request.query);
    // The target is checked before anything is stored: a refused redirect stores nothing.
    const target = redirectTarget(query.find(([k]) => k === 'to')?.[1], deps.redirectHosts);
    await track(request, [{ type, params: withoutWriteKey(query) }], query, false);
    return { status: 302, headers: { Location: target, 'Cache-Control': 'no-store' } };
  };

  const ops: Handler = async (request) => {
    if (request.url === '/openapi.json' && (request.method === 'get' || request.method === 'head')) {
      return { status: 200, body: openApiDocument, contentType: 'application/json' };
    }
    const method = request.method.toUpperCase();
    if (deps.metricsText && request.url === '/metrics' && (method === 'GET' || method === 'HEAD')) {
      const body = await deps.metricsText().catch((error: unknown) => {
        deps.logger.warn({ err: error }, 'no aggregated metrics from the supervisor');
        throw new HttpError(503, 'metrics unavailable', "the workers' metrics could not be aggregated; retry");
      });
      return { status: 200, body, contentType: deps.registry.contentType, headers: { 'Cache-Control': 'no-store' } };
    }
    const answer = await answerOpsRequest(method, request.url, deps.probes, deps.registry);
    if (!answer)
      throw new HttpError(405, 'method not allowed', `${method} is not supported on ${request.url}`, {
        Allow: 'GET, HEAD',
      });
    return {
      status: answer.status,
      body: answer.body,
      contentType: answer.contentType,
      headers: { 'Cache-Control': 'no-store' },
    };
  };

  const notFound: Handler = (request) =>
    Promise.reject(
      new HttpError(
        404,
        'not found',
        `no route for ${request.method.toUpperCase()} ${request.url.slice(0, 200)}; events go to /t/<event>`,
      ),
    );

  app
    .any('/t/:event', route('track', single))
    // `/t/` has an empty event name: a 400 that says so, not a 404.
    .any('/t/', route('track', single))
    .any('/t', route('batch', batch))
    .any('/r/:event', route('redirect', click))
    .any('/healthz', route('ops', ops, false))
    .any('/readyz', route('ops', ops, false))
    .any('/metrics', route('ops', ops, false))
    .any('/openapi.json', route('ops', ops, false))
    .any('/*', route('not_found', notFound, false));

  return {
    get inFlight() {
      return inFlight;
    },
    listen(host, port, options = {}) {
      const shared = options.shared === true;
      return new Promise((resolve, reject) => {
        app.listen(host, port, shared ? LISTEN_SHARED : LISTEN_EXCLUSIVE, (socket) => {
          if (!socket) {
            const by = shared ? "by a process other than this tracker's workers" : 'by another process';
            reject(new Error(`tracker: cannot listen on ${host}:${port} (in use ${by}, or not permitted)`));
            return;
          }
          listenSocket = socket;
          resolve(uWS.us_socket_local_port(socket));
        });
      });
    },
    async close(graceMs) {
      closing = true;
      if (listenSocket) {
        uWS.us_listen_socket_close(listenSocket);
        listenSocket = undefined;
      }
      const settled = (): Promise<void> =>
        inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => drained.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      // uWS cannot close one idle connection: this closes them all, and aborts what is left in
      // flight (a stalled upload settles at once, a write waiting for Redis when Redis answers).
      app.close();
      await settled();
    },
  };
}
