import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from '@pushtech/runtime';
import type { Cleanup } from '@pushtech/devstack/testing';

/** A real HTTP server answering GET /metrics from a real prom-client registry, as a service does. */
export interface MetricsServer {
  readonly url: string;
  /** Requests it answered (scrapes). */
  readonly requests: number;
  /** TCP connections opened to it. */
  readonly connections: number;
  /** Connections open now. */
  openConnections(): Promise<number>;
  /** Serves another registry from now on (a restarted service: its counters start again). */
  serve(registry: Registry): void;
  /** Serves this text instead of a registry's (a broken exporter). */
  serveText(text: string): void;
  close(): Promise<void>;
}

export async function startMetricsServer(t: Cleanup, registry: Registry): Promise<MetricsServer> {
  let current: Registry | string = registry;
  let requests = 0;
  let connections = 0;
  const server = createServer((req, res) => {
    requests += 1;
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const source = current;
    void (typeof source === 'string' ? Promise.resolve(source) : source.metrics()).then((text) => {
      res.writeHead(200, { 'content-type': typeof source === 'string' ? 'text/plain' : source.contentType });
      res.end(text);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  t.after(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    openConnections: () =>
      new Promise((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      ),
    serve(next) {
      current = next;
    },
    serveText(text) {
      current = text;
    },
    close,
  };
}
