/**
 * A real HTTP server standing in for the Kubernetes API server: tests register answers per
 * method and path, run the CLI against it through a kubeconfig, and assert the exact requests.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RecordedRequest {
  readonly method: string;
  /** The path as sent, percent-encoding kept. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
  /** The JSON body, parsed; undefined without a body. */
  readonly body: unknown;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Defaults to application/json; a string body with another type is sent as is. */
  readonly contentType?: string;
}

export type Answer = Reply | ((request: RecordedRequest) => Reply | 'hang');

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, Answer>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeApiServer> {
    const server = createServer();
    const fake = new FakeApiServer(server);
    server.on('request', (req, res) => void fake.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Registers (or replaces) the answer for one method and exact path (query ignored). */
  on(method: string, path: string, answer: Answer): this {
    this.routes.set(`${method} ${path}`, answer);
    return this;
  }

  /** Forgets routes and recorded requests, for the next test. */
  reset(): void {
    this.routes.clear();
    this.requests.length = 0;
  }

  /** Method and path of every request, for a compact assertion of the sequence. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      userAgent: req.headers['user-agent'],
      body: raw === '' ? undefined : parseJson(raw),
    };
    this.requests.push(request);
    const answer = this.routes.get(`${request.method} ${request.path}`);
    const reply =
      answer === undefined
        ? statusReply(404, 'NotFound', `the fake API server has no route for ${request.method} ${request.path}`)
        : typeof answer === 'function'
          ? answer(request)
          : answer;
    if (reply === 'hang') {
      this.hanging.add(res);
      return;
    }
    const contentType = reply.contentType ?? 'application/json';
    const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
    res.writeHead(reply.status, { 'content-type': contentType });
    res.end(body);
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A Kubernetes Status answer, as the API server sends for errors. */
export function statusReply(code: number, reason: string, message: string): Reply {
  return {
    status: code,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code },
  };
}

export function ok(body: unknown): Reply {
  return { status: 200, body };
}

export interface KubeconfigFile {
  readonly path: string;
  remove(): void;
}

/**
 * A kubeconfig in a temp folder with two contexts: `fake` (current, token auth, pointing at the
 * fake server) and `other` (pointing at `otherServer`, where nothing listens).
 */
export function writeKubeconfig(server: string, otherServer: string): KubeconfigFile {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-ops-'));
  const file = path.join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'fake',
    clusters: [
      // client-node refuses plain http unless TLS verification is off (as for `kubectl proxy`).
      { name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } },
      { name: 'other', cluster: { server: otherServer, 'insecure-skip-tls-verify': true } },
    ],
    users: [
      { name: 'ops', user: { token: 'test-token' } },
      { name: 'other', user: { token: 'other-token' } },
    ],
    contexts: [
      { name: 'fake', context: { cluster: 'fake', user: 'ops' } },
      { name: 'other', context: { cluster: 'other', user: 'other' } },
    ],
  };
  // JSON is YAML, and the client reads YAML.
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { path: file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A loopback address where nothing listens: a port taken from the OS, then released. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}
