import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

/** RFC 6455's key suffix for the Sec-WebSocket-Accept answer. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One live event as kafidx sends it; the broker's append time (LogAppendTime topics). */
interface LiveEvent {
  readonly partition: number;
  readonly kafkaTs: number;
}

/**
 * A kafidx dashboard viewer, as a browser is one: it logs in with the token (POST /login), opens
 * /ws with the session cookie from the page's own origin and keeps the partition and append time
 * of every live event it receives. kafidx reads Kafka only while someone watches, so what this
 * viewer receives is what "kafidx follows the topic" means.
 *
 * The WebSocket client is the protocol's minimum (RFC 6455: masked text frames out; text,
 * fragmented, ping and close frames in): the chaos package has no WebSocket library.
 */
export class KafidxViewer {
  private readonly events: LiveEvent[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private readonly waiters: { accepts: (message: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => socket.destroy());
  }

  /** Logs in and connects; resolves once kafidx said hello (its live events reach this viewer). */
  static async connect(base: string, token: string, timeoutMs: number): Promise<KafidxViewer> {
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (login.status !== 303 || cookie === '') {
      throw new Error(`kafidx at ${base} refused the login with KAFIDX_TOKEN (HTTP ${login.status})`);
    }
    const url = new URL('/ws', base);
    const key = randomBytes(16).toString('base64');
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        timeout: timeoutMs,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': key,
          'Sec-WebSocket-Version': '13',
          Cookie: cookie,
          Origin: new URL(base).origin,
        },
      });
      req.on('upgrade', (res, upgraded, head) => {
        const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept) {
          upgraded.destroy();
          reject(new Error(`kafidx at ${base}: /ws answered without a valid Sec-WebSocket-Accept`));
          return;
        }
        if (head.length > 0) upgraded.unshift(head);
        resolve(upgraded);
      });
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`kafidx at ${base} refused the WebSocket on /ws (HTTP ${res.statusCode ?? '?'})`));
      });
      req.on('timeout', () => req.destroy(new Error(`kafidx at ${base}: no WebSocket within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
    const viewer = new KafidxViewer(socket);
    await viewer.until((m) => m['t'] === 'hello', timeoutMs, 'hello');
    return viewer;
  }

  /** Live events received so far. */
  get received(): number {
    return this.events.length;
  }

  /** Live events received that the broker appended at `at` or later, on one of `partitions` if given. */
  receivedSince(at: number, partitions?: ReadonlySet<number>): number {
    let n = 0;
    for (const e of this.events) if (e.kafkaTs >= at && (!partitions || partitions.has(e.partition))) n += 1;
    return n;
  }

  /** Pauses the live stream as the dashboard's pause button does; resolves once kafidx confirmed. */
  pause(timeoutMs: number): Promise<void> {
    const paused = this.until((m) => m['t'] === 'paused', timeoutMs, 'paused');
    this.send(JSON.stringify({ t: 'pause' }));
    return paused;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
  }

  private until(accepts: (m: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafidx sent no '${what}' within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        accepts,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const m = message as Record<string, unknown>;
    if (m['t'] === 'events' && m['replay'] === false && Array.isArray(m['events'])) {
      for (const e of m['events'] as unknown[]) {
        const { partition, kafkaTs } = (e ?? {}) as Record<string, unknown>;
        if (typeof partition === 'number' && typeof kafkaTs === 'number') this.events.push({ partition, kafkaTs });
      }
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter?.accepts(m)) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Takes whole frames off the stream; a message may come in fragments (kafidx sends them so). */
  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) return;
      const fin = ((b[0] ?? 0) & 0x80) !== 0;
      const opcode = (b[0] ?? 0) & 0x0f;
      const masked = ((b[1] ?? 0) & 0x80) !== 0;
      let length = (b[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const mask = masked ? b.subarray(offset, offset + 4) : undefined;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
      this.buffered = b.subarray(offset + length);
      if (opcode === 0x8) {
        this.frame(0x8, Buffer.alloc(0));
        this.close();
        return;
      }
      if (opcode === 0x9) this.frame(0xa, payload);
      if (opcode === 0x0 || opcode === 0x1 || opcode === 0x2) {
        if (opcode !== 0x0) this.fragments = [];
        this.fragments.push(payload);
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.onMessage(text);
        }
      }
    }
  }

  private send(text: string): void {
    this.frame(0x1, Buffer.from(text, 'utf8'));
  }

  /** One final frame, masked as a client's must be. */
  private frame(opcode: number, payload: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const head =
      payload.length < 126
        ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
        : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const mask = randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i % 4] ?? 0);
    this.socket.write(Buffer.concat([head, mask, body]));
  }
}
