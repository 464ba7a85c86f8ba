import net from 'node:net';

/** One request: method, path and headers (Host and Content-Length are added). */
export interface LeanRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

/** An answer's status; the body is read and dropped. */
export interface LeanResponse {
  readonly status: number;
}

/** A failed request, with the cause's code as Node's own client gives it (ECONNREFUSED, ECONNRESET, ...). */
export class LeanRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'LeanRequestError';
  }
}

interface Waiting {
  readonly bytes: Buffer;
  readonly resolve: (response: LeanResponse) => void;
  readonly reject: (error: LeanRequestError) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
/** An answer's head larger than this is refused: the load generator's targets send small ones. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * A minimal HTTP/1.1 keep-alive client for the load generator: at most `connections` sockets,
 * one request at a time on each (no pipelining), the newest idle socket reused first, an idle
 * socket closed after `idleMs`, a request failed (ETIMEDOUT) when its socket stays silent for
 * `answerMs` while it waits (connecting, or for the answer). It does per request what a load
 * generator needs and no more: it writes the request in one call and reads the answer's status,
 * skipping its body (by Content-Length, chunked, or to the close). Node's http client took half
 * as much CPU again per request (docs/BENCHMARKS.md), and on a small machine the generator's CPU
 * is taken from the target it measures.
 */
export class LeanHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Waiting[] = [];
  private closed = false;
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;

  /** `target`: http://host:port; its host (with the port unless 80) is the Host header. */
  constructor(
    target: URL,
    private readonly connections: number,
    private readonly idleMs = 5_000,
    private readonly answerMs = 30_000,
  ) {
    this.host = target.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(target.port || 80);
    this.hostHeader = target.host;
  }

  request(request: LeanRequest): Promise<LeanResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new LeanRequestError('the client was closed', 'ERR_CLIENT_CLOSED'));
        return;
      }
      const waiting: Waiting = { bytes: this.encode(request), resolve, reject };
      const connection = this.idle.pop();
      if (connection) connection.send(waiting);
      else if (this.all.size < this.connections) this.connect().send(waiting);
      else this.queue.push(waiting);
    });
  }

  /** Closes every socket; requests still waiting or unanswered fail. */
  close(): void {
    this.closed = true;
    for (const w of this.queue.splice(0)) w.reject(new LeanRequestError('the client was closed', 'ERR_CLIENT_CLOSED'));
    for (const c of this.all) c.destroy();
  }

  private encode(request: LeanRequest): Buffer {
    let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
    if (request.body !== undefined) head += `Content-Length: ${Buffer.byteLength(request.body)}\r\n`;
    return Buffer.from(`${head}\r\n${request.body ?? ''}`);
  }

  private connect(): Connection {
    const connection = new Connection(this.host, this.port, this.idleMs, this.answerMs, {
      idle: (c) => {
        const next = this.queue.shift();
        if (next) c.send(next);
        else this.idle.push(c);
      },
      gone: (c) => {
        this.all.delete(c);
        const at = this.idle.indexOf(c);
        if (at >= 0) this.idle.splice(at, 1);
        // A request that waited for a socket gets a new one.
        const next = this.queue.shift();
        if (next) this.connect().send(next);
      },
    });
    this.all.add(connection);
    return connection;
  }
}

/** The parts of an answer still to read once its head was parsed. */
type Body = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked'; tail: Buffer } | { kind: 'close' };

class Connection {
  private readonly socket: net.Socket;
  private current: Waiting | undefined;
  private head: Buffer | undefined;
  private status = 0;
  private body: Body = { kind: 'none' };
  private closeAfter = false;
  private gone = false;

  constructor(
    host: string,
    port: number,
    private readonly idleMs: number,
    private readonly answerMs: number,
    private readonly pool: { idle(c: Connection): void; gone(c: Connection): void },
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    // Idle: closed, and out of the pool at once. Busy: the request waited `answerMs` without a
    // byte (connecting, or for its answer).
    this.socket.on('timeout', () => {
      if (this.current === undefined) this.leave();
      else this.fail('ETIMEDOUT', `no answer within ${this.answerMs} ms`);
    });
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error.code ?? 'ECONNRESET', error.message));
    this.socket.on('close', () => {
      const waiting = this.current;
      if (waiting && this.head === undefined && this.body.kind === 'close') {
        // An answer without a length ends with its connection.
        this.current = undefined;
        waiting.resolve({ status: this.status });
      }
      this.fail('ECONNRESET', 'socket hang up');
    });
  }

  send(waiting: Waiting): void {
    this.current = waiting;
    this.head = Buffer.alloc(0);
    this.status = 0;
    this.socket.setTimeout(this.answerMs);
    this.socket.write(waiting.bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (this.current === undefined) {
      this.fail('ERR_UNEXPECTED_DATA', 'the server sent bytes nobody asked for');
      return;
    }
    let data = chunk;
    while (data.length > 0) {
      if (this.head !== undefined) {
        const head: Buffer = this.head.length === 0 ? data : Buffer.concat([this.head, data]);
        const end = head.indexOf(HEADER_END);
        if (end < 0) {
          if (head.length > MAX_HEAD_BYTES) this.fail('ERR_HEAD_TOO_LARGE', 'an answer head over 64 KiB');
          else this.head = head;
          return;
        }
        if (!this.parseHead(head.toString('latin1', 0, end))) return;
        this.head = undefined;
        data = head.subarray(end + HEADER_END.length);
      }
      data = this.skipBody(data);
      if (this.body.kind === 'none') {
        // One request at a time: bytes after a whole answer belong to no request.
        if (data.length > 0) this.fail('ERR_UNEXPECTED_DATA', 'the server sent bytes nobody asked for');
        else this.answered();
        return;
      }
    }
  }

  private parseHead(head: string): boolean {
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!match) {
      this.fail('ERR_BAD_ANSWER', `not an HTTP/1.1 answer: ${JSON.stringify(head.slice(0, 40))}`);
      return false;
    }
    this.status = Number(match[1]);
    const lower = head.toLowerCase();
    this.closeAfter = /\r\nconnection:\s*close/.test(lower);
    const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (this.status < 200 || this.status === 204 || this.status === 304) this.body = { kind: 'none' };
    else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) this.body = { kind: 'chunked', tail: Buffer.alloc(0) };
    else if (length) this.body = Number(length[1]) > 0 ? { kind: 'length', left: Number(length[1]) } : { kind: 'none' };
    else this.body = { kind: 'close' };
    return true;
  }

  /** Consumes what belongs to the current body; returns the bytes after it. */
  private skipBody(data: Buffer): Buffer {
    const body = this.body;
    switch (body.kind) {
      case 'none':
        return data;
      case 'close':
        return Buffer.alloc(0);
      case 'length': {
        const taken = Math.min(body.left, data.length);
        body.left -= taken;
        if (body.left === 0) this.body = { kind: 'none' };
        return data.subarray(taken);
      }
      case 'chunked': {
        // Chunks: "<hex size>\r\n<bytes>\r\n", ending with "0\r\n\r\n" (no trailers expected).
        let buffer = body.tail.length === 0 ? data : Buffer.concat([body.tail, data]);
        for (;;) {
          const lineEnd = buffer.indexOf('\r\n');
          if (lineEnd < 0) break;
          const size = Number.parseInt(buffer.toString('latin1', 0, lineEnd), 16);
          if (Number.isNaN(size)) {
            this.fail('ERR_BAD_ANSWER', 'a chunk size that is not hexadecimal');
            return Buffer.alloc(0);
          }
          const end = lineEnd + 2 + size + 2;
          if (size === 0) {
            if (buffer.length < end) break;
            this.body = { kind: 'none' };
            return buffer.subarray(end);
          }
          if (buffer.length < end) break;
          buffer = buffer.subarray(end);
        }
        this.body = { kind: 'chunked', tail: buffer };
        return Buffer.alloc(0);
      }
    }
  }

  private answered(): void {
    const waiting = this.current;
    if (waiting === undefined) return;
    this.current = undefined;
    waiting.resolve({ status: this.status });
    if (this.closeAfter) this.leave();
    else if (!this.gone) {
      this.socket.setTimeout(this.idleMs);
      this.pool.idle(this);
    }
  }

  private fail(code: string, message: string): void {
    const waiting = this.current;
    this.current = undefined;
    this.leave();
    waiting?.reject(new LeanRequestError(message, code));
  }

  /**
   * Closes the socket and takes the connection out of the pool now (idle too long, failed, or
   * answered with Connection: close). Its 'close' event comes only in a later phase of the loop:
   * a connection left in the idle list until then would be handed the next request, which then
   * failed with ECONNRESET (a pool of idle sockets closing together after `idleMs` while a burst
   * reached them), and one left counted among the open ones would hold a slot a waiting request
   * could use.
   */
  private leave(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.destroy();
    this.pool.gone(this);
  }
}
