import WebSocket from 'ws';

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
 */
export class KafidxViewer {
  private readonly events: LiveEvent[] = [];
  private readonly waiters: { accepts: (message: Record<string, unknown>) => boolean; resolve: () => void }[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.onMessage(bytes.toString('utf8'));
    });
    socket.on('error', () => socket.terminate());
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
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, {
      headers: { Cookie: cookie },
      origin: new URL(base).origin,
      handshakeTimeout: timeoutMs,
    });
    const viewer = new KafidxViewer(socket);
    const hello = viewer.until((m) => m['t'] === 'hello', timeoutMs, 'hello');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('unexpected-response', (_req, res) => {
          res.resume();
          reject(new Error(`kafidx at ${base} refused the WebSocket on /ws (HTTP ${res.statusCode ?? '?'})`));
        });
        socket.once('error', (error) => reject(new Error(`kafidx at ${base}: no WebSocket on /ws: ${error.message}`)));
      });
    } catch (error: unknown) {
      hello.catch(() => undefined);
      socket.terminate();
      throw error;
    }
    await hello;
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
    this.socket.send(JSON.stringify({ t: 'pause' }));
    return paused;
  }

  close(): void {
    this.socket.close();
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
}
