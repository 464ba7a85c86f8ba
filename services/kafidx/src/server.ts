import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, BlockList } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KafkaConnection, Logger } from '@pushtech/runtime';
import { originAllowed, type DashboardAuth, type Session } from './auth.js';
import { parseFilter } from './filter.js';
import type { DeadLetterFeed } from './dead-letters.js';
import type { HealthMonitor } from './health-monitor.js';
import type { InsightsSource } from './insights.js';
import { insightsPage, insightsUnconfiguredPage } from './insights-page.js';
import type { Hub } from './hub.js';
import { clientAddress, type LoginThrottle } from './login-throttle.js';
import type { KafidxMetrics } from './metrics.js';
import { ReplayLimiter, replay } from './replay.js';
import { Viewer, type ViewerLimits } from './viewer.js';
import { describeError } from '@pushtech/runtime';

const publicDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'public');

/** Served from memory; the dashboard needs no CDN and works offline. */
const assets = new Map<string, { type: string; body: Buffer }>(
  (
    [
      ['/', 'index.html', 'text/html; charset=utf-8'],
      ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'style.css', 'text/css; charset=utf-8'],
    ] as const
  ).map(([route, file, type]) => [route, { type, body: readFileSync(path.join(publicDir, file)) }]),
);
const loginPage = readFileSync(path.join(publicDir, 'login.html'), 'utf8');

/** Defence in depth against injected markup: only our own script and styles may run. */
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export interface DashboardServerDeps {
  readonly hub: Hub;
  /** The page's Dead letters panel; a browser subscribes with {t: 'dead-letters'}. */
  readonly deadLetters?: DeadLetterFeed;
  /** The page's pipeline-health strip; a browser subscribes with {t: 'health'}. */
  readonly health?: HealthMonitor;
  /** The Insights view (/insights): the PostgreSQL sink's rollups, when POSTGRES_URL is set. */
  readonly insights?: InsightsSource | undefined;
  readonly auth: DashboardAuth;
  readonly loginThrottle: LoginThrottle;
  /** Proxies whose X-Forwarded-For names the client (for the login throttle). */
  readonly trustedProxies: BlockList;
  /** The origin browsers load the page from ('' = http://<Host>), and other allowed origins. */
  readonly publicOrigin: string;
  readonly allowedOrigins: readonly string[];
  readonly limits: ViewerLimits;
  readonly replay: {
    connection: KafkaConnection;
    topic: string;
    maxMinutes: number;
    maxEvents: number;
    perMinute: number;
  };
  readonly metrics: KafidxMetrics;
  readonly logger: Logger;
}

export interface DashboardServer {
  readonly server: Server;
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

export function createDashboardServer(deps: DashboardServerDeps): DashboardServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const replays = new ReplayLimiter(deps.replay.perMinute);
  /** The session each open socket was opened with; it is closed when that session ends. */
  const sockets = new Map<WebSocket, { session: Session; expiry: NodeJS.Timeout }>();
  const endSession = (ws: WebSocket): void => ws.close(4401, 'session ended: log in again');
  deps.auth.onRevoke((ended) => {
    for (const [ws, { session }] of sockets) if (ended(session)) endSession(ws);
  });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });

  const sendLogin = (res: ServerResponse, status: number, message: string): void => {
    res.writeHead(status, { ...securityHeaders, 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage.replace('<!--message-->', message));
  };

  const logIn = (req: IncomingMessage, res: ServerResponse, token: string | undefined): void => {
    const address = clientAddress(req, deps.trustedProxies);
    const wait = deps.loginThrottle.retryAfter(address);
    if (wait > 0) {
      deps.metrics.loginsThrottled.inc();
      res.writeHead(429, {
        ...securityHeaders,
        'content-type': 'text/html; charset=utf-8',
        'Retry-After': String(wait),
      });
      res.end(
        loginPage.replace(
          '<!--message-->',
          `<p class="error">Too many wrong tokens from your address: try again in ${wait} s.</p>`,
        ),
      );
      return;
    }
    if (!deps.auth.acceptsToken(token)) {
      deps.loginThrottle.failed(address);
      deps.metrics.loginsFailed.inc();
      sendLogin(res, 401, '<p class="error">That token is not valid.</p>');
      return;
    }
    deps.loginThrottle.succeeded(address);
    // Redirect so the token does not stay in the address bar or the history.
    res.writeHead(303, { ...securityHeaders, Location: '/', 'Set-Cookie': deps.auth.issue().setCookie });
    res.end();
  };

  async function sendInsights(res: ServerResponse): Promise<void> {
    const html = 'text/html; charset=utf-8';
    if (!deps.insights) {
      res.writeHead(404, { ...securityHeaders, 'content-type': html });
      res.end(insightsUnconfiguredPage());
      return;
    }
    try {
      const page = insightsPage(await deps.insights.read());
      res.writeHead(200, { ...securityHeaders, 'content-type': html });
      res.end(page);
    } catch (error: unknown) {
      deps.logger.warn({ err: error }, 'insights: the rollups could not be read');
      res.writeHead(503, { ...securityHeaders, 'content-type': 'text/plain; charset=utf-8', 'Retry-After': '10' });
      res.end('Insights: the PostgreSQL sink database cannot be read right now; try again shortly.\n');
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kafidx');
    const method = req.method ?? 'GET';
    // /metrics, /healthz and /readyz are served by the ops listener only (KAFIDX_OPS_PORT).
    if (url.pathname === '/login') {
      if (method === 'POST') {
        const body = await readForm(req, 4096);
        logIn(req, res, body.get('token') ?? undefined);
      } else if (url.searchParams.has('token')) {
        logIn(req, res, url.searchParams.get('token') ?? undefined);
      } else {
        sendLogin(res, 200, '');
      }
      return;
    }
    if (url.pathname === '/logout' && method === 'POST') {
      const session = deps.auth.session(req);
      if (session) deps.auth.revoke(session);
      res.writeHead(303, { ...securityHeaders, Location: '/login', 'Set-Cookie': deps.auth.clearCookie() });
      res.end();
      return;
    }
    if (url.pathname === '/insights' && (method === 'GET' || method === 'HEAD')) {
      if (!deps.auth.session(req)) return sendLogin(res, 401, '');
      return sendInsights(res);
    }
    const asset = assets.get(url.pathname);
    if (!asset || (method !== 'GET' && method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no route for ${method} ${url.pathname}\n`);
      return;
    }
    if (!deps.auth.session(req)) {
      sendLogin(res, 401, '');
      return;
    }
    res.writeHead(200, { ...securityHeaders, 'content-type': asset.type });
    res.end(method === 'HEAD' ? undefined : asset.body);
  }

  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if ((req.url ?? '').split('?')[0] !== '/ws') return refuse('404 Not Found');
    const session = deps.auth.session(req);
    if (!session) return refuse('401 Unauthorized');
    if (!originAllowed(req, { publicOrigin: deps.publicOrigin, allowed: deps.allowedOrigins })) {
      return refuse('403 Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, session));
  });

  function attach(ws: WebSocket, session: Session): void {
    // Closed when the session expires, and at once when it is logged out (onRevoke above).
    const expiry = setTimeout(() => endSession(ws), Math.max(0, session.expiresAt - Date.now()));
    sockets.set(ws, { session, expiry });
    const viewer = new Viewer(ws, deps.limits, deps.metrics);
    deps.metrics.sockets.inc();
    // Hello once the live events reach this browser: what is produced after it, it sees.
    void deps.hub.add(viewer).then(() =>
      viewer.send({
        t: 'hello',
        topic: deps.replay.topic,
        maxEventsPerSecond: deps.limits.maxEventsPerSecond,
        replayMaxMinutes: deps.replay.maxMinutes,
      }),
    );
    ws.on('message', (data, isBinary) => {
      if (isBinary) return viewer.send({ t: 'error', detail: 'send JSON text frames' });
      let message: unknown;
      try {
        const text = Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.isBuffer(data)
            ? data.toString('utf8')
            : Buffer.from(new Uint8Array(data)).toString('utf8');
        message = JSON.parse(text);
      } catch {
        return viewer.send({ t: 'error', detail: 'not JSON' });
      }
      if (deps.auth.ended(session)) return endSession(ws);
      handleMessage(viewer, session, message);
    });
    ws.on('close', () => {
      clearTimeout(expiry);
      sockets.delete(ws);
      deps.hub.remove(viewer);
      deps.metrics.sockets.dec();
    });
    ws.on('error', () => ws.terminate());
  }

  function handleMessage(viewer: Viewer, session: Session, message: unknown): void {
    const m = (message ?? {}) as Record<string, unknown>;
    switch (m['t']) {
      case 'filter': {
        const filter = parseFilter(m['filter']);
        if (typeof filter === 'string') return viewer.send({ t: 'error', detail: filter });
        viewer.filter = filter;
        return viewer.send({ t: 'filter-ok', filter });
      }
      case 'pause':
        viewer.paused = true;
        void deps.hub.follow().then(() => viewer.send({ t: 'paused' }));
        return;
      case 'resume':
        viewer.paused = false;
        // Resumed once the live events reach it again (the consumer may have been paused).
        void deps.hub.follow().then(() => viewer.send({ t: 'resumed' }));
        return;
      case 'replay': {
        const minutes = m['minutes'];
        if (
          typeof minutes !== 'number' ||
          !Number.isFinite(minutes) ||
          minutes <= 0 ||
          minutes > deps.replay.maxMinutes
        ) {
          return viewer.send({
            t: 'error',
            detail: `replay.minutes must be a number from 1 to ${deps.replay.maxMinutes}`,
          });
        }
        const allowed = replays.begin(session.id);
        if (!allowed.ok) {
          deps.metrics.replaysRefused.inc();
          return viewer.send({ t: 'error', detail: `replay refused: ${allowed.reason}` });
        }
        viewer.replaying = true;
        viewer.send({ t: 'replay-start', minutes });
        replay(viewer, minutes, { ...deps.replay, logger: deps.logger }).then(
          (count) => {
            allowed.end();
            viewer.replaying = false;
            viewer.send({ t: 'replay-done', count });
          },
          (error: unknown) => {
            allowed.end();
            viewer.replaying = false;
            viewer.send({
              t: 'error',
              detail: `replay failed: ${describeError(error)}`,
            });
          },
        );
        return;
      }
      case 'dead-letters':
        if (!deps.deadLetters) return viewer.send({ t: 'error', detail: 'this kafidx has no dead-letter view' });
        return deps.deadLetters.subscribe(viewer);
      case 'health':
        if (!deps.health) return viewer.send({ t: 'health', enabled: false });
        return deps.health.subscribe(viewer);
      default:
        return viewer.send({
          t: 'error',
          detail: 'unknown message; expected filter, pause, resume, replay, dead-letters or health',
        });
    }
  }

  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        for (const { expiry } of sockets.values()) clearTimeout(expiry);
        for (const client of wss.clients) client.close(1001, 'server shutting down');
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readForm(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) {
        req.destroy();
        reject(new Error('login form too large'));
      }
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}
