import http from 'node:http';
import https from 'node:https';
import { decodeRawHit, type RawHit } from '@pushtech/event';
import { silentLogger } from '@pushtech/runtime';
import { testInfra, testRedis, type Cleanup, type TestRedis } from '@pushtech/devstack/testing';
import { startTracker, type RunningTracker } from '../src/app.js';
import { trackerConfig } from '../src/config.js';

export interface TestTracker {
  readonly port: number;
  readonly redis: TestRedis;
  readonly queueKey: string;
  readonly tracker: RunningTracker;
  /** Every stored raw hit, oldest first, decoded (a decode failure fails the test). */
  stored(): Promise<RawHit[]>;
}

/** A tracker in this process on port 0, writing to a fresh list in the test run's Redis. */
export async function startTestTracker(t: Cleanup, env: Record<string, string> = {}): Promise<TestTracker> {
  const redis = await testRedis(t);
  const queueKey = redis.key('hits');
  const config = trackerConfig({
    REDIS_URL: (await testInfra()).redisUrl,
    REDIS_QUEUE_KEY: queueKey,
    TRACKER_HOST: '127.0.0.1',
    TRACKER_PORT: '0',
    TRACKER_WORKERS: '1',
    POD_IP: '10.1.2.3',
    ...env,
  });
  const tracker = await startTracker(config, silentLogger());
  t.after(() => tracker.stop());
  await waitReady(tracker.port, env['TRACKER_TLS_CERT'] !== undefined);
  return {
    port: tracker.port,
    redis,
    queueKey,
    tracker,
    async stored() {
      const entries = await redis.client.lrange(queueKey, 0, -1);
      return entries.reverse().map((e) => {
        const hit = decodeRawHit(e);
        if (!hit.ok) throw new Error(`stored entry does not decode: ${hit.error}`);
        return hit.value;
      });
    },
  };
}

export async function waitReady(port: number, tls = false, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await request(port, 'GET', '/readyz', { tls }).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`tracker on ${port} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  json(): unknown;
}

/** A plain HTTP request with the path sent exactly as given (no URL normalisation). */
export function request(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent; tls?: boolean } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    // Tests use self-signed certificates; what is checked is that TLS is spoken at all.
    const req = (options.tls ? https : http).request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: options.headers,
        agent: options.agent ?? false,
        rejectUnauthorized: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')) as unknown,
          });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The one-line JSON error every refusal carries. */
export function errorOf(response: Response): { error: string; detail: string } {
  const parsed = response.json() as { error?: unknown; detail?: unknown };
  if (typeof parsed.error !== 'string' || typeof parsed.detail !== 'string') {
    throw new Error(`not an error body: ${response.text}`);
  }
  if (response.text.includes('\n')) throw new Error('error body spans several lines');
  return { error: parsed.error, detail: parsed.detail };
}
