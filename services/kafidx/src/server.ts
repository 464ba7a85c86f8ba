import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { answerOpsRequest, type KafkaConnection, type Logger, type Probes, type Registry } from '@pushtech/runtime';
import type { DashboardAuth } from './auth.js';
import { originAllowed } from './auth.js';
import { parseFilter } from './filter.js';
import type { Hub } from './hub.js';
import type { KafidxMetrics } from './metrics.js';
import { replay } from './replay.js';
import { Viewer, type ViewerLimits } from './viewer.js';

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
  readonly auth: DashboardAuth;
  readonly allowedOrigins: readonly string[];
  readonly limits: ViewerLimits;
  readonly replay: { connection: KafkaConnection; topic: string; maxMinutes: number; maxEvents: number };
  readonly probes: Probes;
  readonly registry: Registry;
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

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });

  const sendLogin = (res: ServerResponse, status: number, message: string): void => {
    res.writeHead(status, { ...securityHeaders, 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage.replace('<!--message-->', message));
  };

  const logIn = (res: ServerResponse, token: string | undefined): void => {
    if (!deps.auth.acceptsToken(token)) {
      sendLogin(res, 401, '<p class="error">That token is not valid.</p>');
      return;
    }
    // Redirect so the token does not stay in the address bar or the history.
    res.writeHead(303, { ...securityHeaders, Location: '/', 'Set-Cookie': deps.auth.sessionCookie() });
    res.end();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kafidx');
    const method = req.method ?? 'GET';
    const ops = await answerOpsRequest(method, url.pathname, deps.probes, deps.registry);
    if (ops) {
      res.writeHead(ops.status, { 'content-type': ops.contentType, 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : ops.body);
      return;
    }
    if (url.pathname === '/login') {
      if (method === 'POST') {
        const body = await readForm(req, 4096);
        logIn(res, body.get('token') ?? undefined);
      } else if (url.searchParams.has('token')) {
        logIn(res, url.searchParams.get('token') ?? undefined);
      } else {
        sendLogin(res, 200, '');
      }
      return;
    }
    if (url.pathname === '/logout' && method === 'POST') {
      res.writeHead(303, {
        ...securityHeaders,
        Location: '/login',
        'Set-Cookie': 'kafidx_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0',
      });
      res.end();
      return;
    }
    const asset = assets.get(url.pathname);
    if (!asset || (method !== 'GET' && method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no route for ${method} ${url.pathname}\n`);
      return;
    }
    if (!deps.auth.hasSession(req)) {
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
    if (!deps.auth.hasSession(req)) return refuse('401 Unauthorized');
    if (!originAllowed(req, deps.allowedOrigins)) return refuse('403 Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function attach(ws: WebSocket): void {
    const viewer = new Viewer(ws, deps.limits, deps.metrics);
    deps.hub.viewers.add(viewer);
    deps.metrics.sockets.inc();
    viewer.send({
      t: 'hello',
      topic: deps.replay.topic,
      maxEventsPerSecond: deps.limits.maxEventsPerSecond,
      replayMaxMinutes: deps.replay.maxMinutes,
    });
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
      handleMessage(viewer, message);
    });
    ws.on('close', () => {
      deps.hub.viewers.delete(viewer);
      deps.metrics.sockets.dec();
    });
    ws.on('error', () => ws.terminate());
  }

  function handleMessage(viewer: Viewer, message: unknown): void {
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
        return viewer.send({ t: 'paused' });
      case 'resume':
        viewer.paused = false;
        return viewer.send({ t: 'resumed' });
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
        if (viewer.replaying) return viewer.send({ t: 'error', detail: 'a replay is already running' });
        viewer.replaying = true;
        viewer.send({ t: 'replay-start', minutes });
        replay(viewer, minutes, { ...deps.replay, logger: deps.logger }).then(
          (count) => {
            viewer.replaying = false;
            viewer.send({ t: 'replay-done', count });
          },
          (error: unknown) => {
            viewer.replaying = false;
            viewer.send({
              t: 'error',
              detail: `replay failed: ${error instanceof Error ? error.message : String(error)}`,
            });
          },
        );
        return;
      }
      default:
        return viewer.send({ t: 'error', detail: 'unknown message; expected filter, pause, resume or replay' });
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
