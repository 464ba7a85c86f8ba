import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRawHit } from '@pushtech/event';
import { freePort, isListening } from '@pushtech/devstack';
import { eventually, testInfra, testRedis, type Cleanup } from '@pushtech/devstack/testing';
import { waitReady } from './helpers.js';
import { metric, rawConnection, spawnTracker, type RawConnection, type TrackerProcess } from './tracker-process.js';

const IN_FLIGHT = /^pushtech_tracker_in_flight_requests\b/;
const ABORTED = /^pushtech_tracker_requests_total\{.*status="aborted"/;

async function startTracker(
  t: Cleanup,
  env: Record<string, string>,
): Promise<{ port: number; tracker: TrackerProcess; stored: () => Promise<string[]> }> {
  const redis = await testRedis(t);
  const key = redis.key('hits');
  const port = await freePort();
  const tracker = spawnTracker({
    REDIS_URL: (await testInfra()).redisUrl,
    REDIS_QUEUE_KEY: key,
    TRACKER_PORT: String(port),
    TRACKER_WORKERS: '1',
    ...env,
  });
  t.after(() => void tracker.child.kill('SIGKILL'));
  await waitReady(port);
  const stored = async (): Promise<string[]> =>
    (await redis.client.lrange(key, 0, -1)).reverse().map((entry) => {
      const hit = decodeRawHit(entry);
      if (!hit.ok) throw new Error(hit.error);
      return `${hit.value.type}?${hit.value.params}`;
    });
  return { port, tracker, stored };
}

async function connect(t: Cleanup, port: number): Promise<RawConnection> {
  const connection = await rawConnection(port);
  t.after(() => void connection.socket.destroy());
  return connection;
}

const inFlight = (port: number, count: number): Promise<true> =>
  eventually(`${count} requests in flight`, async () => ((await metric(port, IN_FLIGHT)) === count ? true : undefined));

/** Headers of a POST whose body is announced at `length` bytes. */
const postHead = (path: string, length: number): string =>
  `POST ${path} HTTP/1.1\r\nHost: t.example\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('tracker shutdown and aborted uploads', () => {
  it('an aborted upload settles at once (the in-flight gauge grew by one per abort and SIGTERM hung)', async (t) => {
    const { port, tracker, stored } = await startTracker(t, { SHUTDOWN_TIMEOUT_MS: '5000' });
    const uploads = 20;
    for (let round = 1; round <= 2; round += 1) {
      const connections = await Promise.all(Array.from({ length: uploads }, () => connect(t, port)));
      for (const c of connections) c.socket.write(`${postHead('/t/upload', 900_000)}{"v":"${'x'.repeat(64 * 1024)}`);
      await inFlight(port, uploads);
      for (const c of connections) c.socket.destroy();
      // No growth over rounds: every aborted upload is settled and counted, none is left behind.
      await inFlight(port, 0);
      assert.equal(await metric(port, ABORTED), round * uploads);
    }
    tracker.child.kill('SIGTERM');
    assert.equal(await tracker.exited, 0, tracker.output.join(''));
    assert.deepEqual(await stored(), [], 'an aborted upload is never stored');
  });

  it('shutdown with an idle keep-alive connection and a stalled upload exits 0 within its budget', async (t) => {
    const budgetMs = 4_000;
    const { port, tracker, stored } = await startTracker(t, { SHUTDOWN_TIMEOUT_MS: String(budgetMs) });
    const idle = await connect(t, port);
    idle.socket.write('GET /t/before HTTP/1.1\r\nHost: t.example\r\n\r\n');
    await idle.receivedMatch(/^HTTP\/1\.1 204 /);
    // A client that stopped sending mid-body without closing: it holds a request in flight.
    const stalled = await connect(t, port);
    stalled.socket.write(`${postHead('/t/stalled', 1_000)}{"a":`);
    await inFlight(port, 1);

    const sigtermAt = Date.now();
    tracker.child.kill('SIGTERM');
    const code = await tracker.exited;
    const stopMs = Date.now() - sigtermAt;
    assert.equal(code, 0, tracker.output.join(''));
    assert.ok(stopMs < budgetMs, `stopped in ${stopMs} ms; the budget is ${budgetMs}`);
    await Promise.all([idle.closed, stalled.closed]);
    assert.doesNotMatch(stalled.received(), /HTTP/, 'the stalled upload is not acknowledged');
    assert.deepEqual(await stored(), ['before?']);
  });

  it('a request arriving on an open connection after SIGTERM gets 503 with Connection: close and is not stored', async (t) => {
    const { port, tracker, stored } = await startTracker(t, { SHUTDOWN_TIMEOUT_MS: '8000' });
    const keepAlive = await connect(t, port);
    keepAlive.socket.write('GET /t/before HTTP/1.1\r\nHost: t.example\r\n\r\n');
    await keepAlive.receivedMatch(/^HTTP\/1\.1 204 /);
    // A request still in flight keeps the tracker answering while it shuts down.
    const slow = await connect(t, port);
    slow.socket.write(`${postHead('/t/slow', 17)}{"a":"1",`);
    await inFlight(port, 1);

    tracker.child.kill('SIGTERM');
    await eventually('no new connections accepted', async () => ((await isListening(port)) ? undefined : true));
    keepAlive.socket.write('GET /t/late?x=1 HTTP/1.1\r\nHost: t.example\r\n\r\n');
    const late = (await keepAlive.receivedMatch(/HTTP\/1\.1 503 [^\r]*\r\n[\s\S]*?\r\n\r\n/)).split('HTTP/1.1 503')[1];
    assert.match(late ?? '', /\r\nConnection: close\r\n/i);
    assert.match(late ?? '', /\r\nRetry-After: 1\r\n/i);
    await keepAlive.closed;

    slow.socket.write('"b":"2"}');
    await slow.receivedMatch(/^HTTP\/1\.1 204 [\s\S]*\r\nConnection: close\r\n/i);
    assert.equal(await tracker.exited, 0, tracker.output.join(''));
    assert.deepEqual(await stored(), ['before?', 'slow?a=1&b=2']);
  });
});
