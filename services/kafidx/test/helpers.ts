import { encodeMessage, type ParamList, type TrackingEvent } from '@pushtech/event';
import { sampleEvent } from '@pushtech/event/testing';
import { createProducer, parseConfig, silentLogger, type OutgoingMessage } from '@pushtech/runtime';
import { freshTopic, testInfra, testKafka, type Cleanup } from '@pushtech/devstack/testing';
import WebSocket from 'ws';
import { startKafidx } from '../src/app.js';
import { kafidxSettings } from '../src/config.js';

export const TOKEN = 'test-token-0123456789abcdef';

export interface ProducedEvent {
  readonly type?: string;
  readonly params?: ParamList;
  readonly meta?: Partial<TrackingEvent['meta']>;
  /** Kafka create time; now when omitted. */
  readonly timestamp?: number;
}

export interface TestKafidx {
  readonly port: number;
  readonly topic: string;
  /** The browser-facing listener. */
  readonly base: string;
  /** The ops listener: /metrics, /healthz, /readyz. */
  readonly opsBase: string;
  produce(events: readonly ProducedEvent[]): Promise<void>;
  cookie(): Promise<string>;
  connect(options?: { cookie?: string; origin?: string }): Promise<TestSocket>;
  stop(): Promise<void>;
}

/** The sample event of the wire format with the given type, params and meta fields. */
export function trackingEvent(
  type: string,
  params: ParamList = [],
  meta: Partial<TrackingEvent['meta']> = {},
): TrackingEvent {
  return sampleEvent({ type, params, meta });
}

/** Produces messages (dead letters, raw entries) to a topic of the test run's Kafka. */
export async function produceLetters(topic: string, letters: readonly OutgoingMessage[]): Promise<void> {
  const producer = createProducer(await testKafka(), silentLogger());
  await producer.connect();
  try {
    await producer.send(topic, letters);
  } finally {
    await producer.disconnect();
  }
}

/** A kafidx in this process on port 0, reading a fresh topic of the test run's Kafka. */
export async function startTestKafidx(
  t: Cleanup,
  env: Record<string, string> = {},
  /** Events already in the topic before kafidx starts (history for replay). */
  existing: readonly ProducedEvent[] = [],
): Promise<TestKafidx> {
  const infra = await testInfra();
  const topic = await freshTopic(t, { partitions: 2 });
  const config = parseConfig('kafidx', kafidxSettings, {
    KAFKA_BROKERS: infra.kafkaBrokers,
    KAFKA_TOPIC: topic,
    KAFIDX_HOST: '127.0.0.1',
    KAFIDX_PORT: '0',
    KAFIDX_OPS_PORT: '0',
    KAFIDX_TOKEN: TOKEN,
    ...env,
  });
  const producer = createProducer({ brokers: [infra.kafkaBrokers], clientId: 'kafidx-test' }, silentLogger());
  await producer.connect();
  t.after(() => producer.disconnect());
  const produce = async (events: readonly ProducedEvent[]): Promise<void> => {
    await producer.send(
      topic,
      events.map((e) => {
        const event = trackingEvent(e.type ?? 'app_open', e.params ?? [], e.meta ?? {});
        return { value: encodeMessage(event), ...(e.timestamp === undefined ? {} : { timestamp: e.timestamp }) };
      }),
    );
  };
  if (existing.length > 0) await produce(existing);
  const kafidx = await startKafidx(config, config.KAFIDX_TOKEN, silentLogger());
  t.after(() => kafidx.stop());
  const base = `http://127.0.0.1:${kafidx.port}`;
  const login = async (): Promise<string> => {
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      redirect: 'manual',
    });
    return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  };
  return {
    port: kafidx.port,
    topic,
    base,
    opsBase: `http://127.0.0.1:${kafidx.opsPort}`,
    stop: () => kafidx.stop(),
    produce,
    cookie: login,
    async connect(options = {}) {
      const cookie = options.cookie ?? (await login());
      const socket = new TestSocket(`ws://127.0.0.1:${kafidx.port}/ws`, { cookie, origin: options.origin ?? base });
      t.after(() => socket.close());
      await socket.opened;
      await socket.next((m) => m['t'] === 'hello');
      return socket;
    },
  };
}

export type Message = Record<string, unknown>;

/** A WebSocket client that records every message and can wait for one that matches. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly opened: Promise<void>;
  /** The close code, once the connection is closed. */
  readonly closed: Promise<number>;
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  constructor(url: string, headers: { cookie: string; origin: string }) {
    this.ws = new WebSocket(url, { headers: { Cookie: headers.cookie, Origin: headers.origin } });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode ?? 0}`)));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data: WebSocket.RawData) => {
      const message = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : '{}') as Message;
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }

  send(message: Message): void {
    this.ws.send(JSON.stringify(message));
  }

  next(match: (m: Message) => boolean, timeoutMs = 15_000): Promise<Message> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no matching message after ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 500)}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Every event received so far (live and replayed), in arrival order. */
  events(): Message[] {
    return this.messages.filter((m) => m['t'] === 'events').flatMap((m) => m['events'] as Message[]);
  }

  close(): void {
    this.ws.terminate();
  }
}
