import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { exportReadiness, type Probes } from './probes.js';

export interface OpsResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * Answers the operational endpoints every service keeps, independent of the HTTP server in use
 * (node:http here, uWebSockets.js in the tracker). Returns undefined for any other path.
 */
export async function answerOpsRequest(
  method: string,
  path: string,
  probes: Probes,
  registry: Registry,
): Promise<OpsResponse | undefined> {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  exportReadiness(probes, registry);
  switch (path) {
    case '/healthz':
      return json(200, probes.live());
    case '/readyz': {
      const report = await probes.ready();
      return json(report.ok ? 200 : 503, report);
    }
    case '/metrics':
      return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    default:
      return undefined;
  }
}

function json(status: number, value: unknown): OpsResponse {
  return { status, contentType: 'application/json', body: JSON.stringify(value) };
}

export interface OpsServer {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** A small node:http server for services whose job is not HTTP (kafkastore, consumers). */
export async function startOpsServer(options: {
  host: string;
  port: number;
  probes: Probes;
  registry: Registry;
  logger: Logger;
  /** Extra routes of the service, tried before the 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean;
}): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    answerOpsRequest(req.method ?? 'GET', path, options.probes, options.registry).then(
      (answer) => {
        if (answer) {
          res.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : answer.body);
        } else if (!options.fallback?.(req, res)) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end(`no route for ${req.method ?? 'GET'} ${path}\n`);
        }
      },
      (error: unknown) => {
        options.logger.error({ err: error, path }, 'ops endpoint failed');
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
