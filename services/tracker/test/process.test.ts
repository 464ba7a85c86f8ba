import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import uWS from 'uWebSockets.js';
import { decodeRawHit } from '@pushtech/event';
import { freePort, isListening } from '@pushtech/devstack';
import { eventually, testInfra, testRedis } from '@pushtech/devstack/testing';
import { request, waitReady } from './helpers.js';
import {
  WORKERS_START_MS,
  children,
  killTracker,
  spawnTracker,
  waitForWorkers,
  type TrackerProcess,
} from './tracker-process.js';

describe('the tracker process', () => {
  it('on SIGTERM: stops accepting, finishes the request in flight, stores it, exits 0', async (t) => {
    const redis = await testRedis(t);
    const key = redis.key('hits');
    const port = await freePort();
    const tracker = spawnTracker({
      REDIS_URL: (await testInfra()).redisUrl,
      REDIS_QUEUE_KEY: key,
      TRACKER_PORT: String(port),
      TRACKER_WORKERS: '1',
    });
    t.after(() => tracker.child.kill('SIGKILL'));
    await waitReady(port);

    // A request whose body is still arriving when the signal comes.
    const socket = net.connect({ port, host: '127.0.0.1' });
    t.after(() => socket.destroy());
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /t/slow HTTP/1.1\r\nHost: t.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1',
    );
    await eventually('the request is in flight', async () => {
      const metrics = (await request(port, 'GET', '/metrics')).text;
      return /^pushtech_tracker_in_flight_requests\{[^}]*\} 1$/m.test(metrics) ? true : undefined;
    });

    tracker.child.kill('SIGTERM');
    await eventually('no new connections accepted', async () => ((await isListening(port)) ? undefined : true));
    socket.write('&b=2');
    await closed;
    assert.match(answer, /^HTTP\/1\.1 204 No Content\r\n/, answer);
    assert.equal(await tracker.exited, 0, tracker.output.join(''));
    const stored = (await redis.client.lrange(key, 0, -1)).map((e) => decodeRawHit(e));
    assert.equal(stored.length, 1);
    assert.ok(stored[0]?.ok && stored[0].value.params === 'a=1&b=2');
  });

  it('several workers share one port; a crashed worker is replaced; SIGTERM stops them all', async (t) => {
    const redis = await testRedis(t);
    const key = redis.key('hits');
    const port = await freePort();
    const tracker = spawnTracker({
      REDIS_URL: (await testInfra()).redisUrl,
      REDIS_QUEUE_KEY: key,
      TRACKER_PORT: String(port),
      TRACKER_WORKERS: '2',
    });
    t.after(() => killTracker(tracker));
    const supervisor = tracker.child.pid ?? assert.fail('no pid');
    const workers = await waitForWorkers(tracker, port, 2);
    for (let i = 0; i < 20; i += 1) assert.equal((await request(port, 'GET', `/t/w?i=${i}`)).status, 204);
    assert.equal(await redis.client.llen(key), 20);

    process.kill(workers[0] as number, 'SIGKILL');
    const replaced = await eventually(
      'a replacement worker',
      () => {
        const now = children(supervisor);
        return now.length === 2 && !now.includes(workers[0] as number) ? now : undefined;
      },
      20_000,
    );
    assert.ok(replaced.includes(workers[1] as number), 'the healthy worker was left alone');

    tracker.child.kill('SIGTERM');
    assert.equal(await tracker.exited, 0, tracker.output.join(''));
    for (const pid of replaced) {
      assert.throws(() => process.kill(pid, 0), 'no worker outlives the supervisor');
    }
  });

  it('a port in use is refused, alone or with workers; only workers of one tracker share it', async (t) => {
    const redis = await testRedis(t);
    const key = redis.key('hits');
    const port = await freePort();
    const env = { REDIS_URL: (await testInfra()).redisUrl, REDIS_QUEUE_KEY: key, TRACKER_PORT: String(port) };
    const first = spawnTracker({ ...env, TRACKER_WORKERS: '2' });
    t.after(() => killTracker(first));
    await waitForWorkers(first, port, 2);

    // One that served instead of refusing would run on: it is killed after a while (exit null).
    const exitOf = async (tracker: TrackerProcess): Promise<number | null> => {
      const timer = setTimeout(() => killTracker(tracker), WORKERS_START_MS);
      try {
        return await tracker.exited;
      } finally {
        clearTimeout(timer);
      }
    };
    // A tracker alone listens without SO_REUSEPORT: the kernel refuses it the port.
    const alone = spawnTracker({ ...env, TRACKER_WORKERS: '1' });
    assert.equal(await exitOf(alone), 1, alone.output.join(''));
    assert.match(
      alone.output.join(''),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(in use by another process`),
    );
    // Workers would be let in by SO_REUSEPORT: their supervisor refuses the port before starting them.
    const withWorkers = spawnTracker({ ...env, TRACKER_WORKERS: '2' });
    assert.equal(await exitOf(withWorkers), 1, withWorkers.output.join(''));
    assert.match(withWorkers.output.join(''), new RegExp(`127\\.0\\.0\\.1:${port} is in use by another process`));
    assert.doesNotMatch(
      withWorkers.output.join(''),
      /tracker supervisor started|tracker listening/,
      'no worker started',
    );

    const answered = async (n: number): Promise<number> => {
      let ok = 0;
      for (let i = 0; i < n; i += 1) if ((await request(port, 'GET', `/t/p?i=${i}`)).status === 204) ok += 1;
      return ok;
    };
    assert.equal(await answered(40), 40);
    assert.equal(await redis.client.llen(key), 40, 'every request (a connection each) reached the first tracker');

    // Control: a process that does set SO_REUSEPORT joins the port, and the same check sees the
    // connections it takes away. This is what a second tracker did before it listened alone.
    const foreign = uWS.App().any('/*', (res) => void res.writeStatus('204 No Content').end());
    const socket = await new Promise<uWS.us_listen_socket | false>((resolve) =>
      foreign.listen('127.0.0.1', port, resolve),
    );
    assert.ok(socket, 'SO_REUSEPORT lets the second listener in');
    t.after(() => uWS.us_listen_socket_close(socket));
    assert.equal(await answered(40), 40);
    const stored = await redis.client.llen(key);
    assert.ok(stored < 80, `the foreign listener answered ${80 - stored} of 40 requests; none stored`);
  });

  it('a bad configuration stops the start with a message naming the variable', async () => {
    const tracker = spawnTracker({ REDIS_URL: 'http://nope', TRACKER_PORT: 'eighty' });
    assert.equal(await tracker.exited, 1);
    const out = tracker.output.join('');
    assert.match(out, /tracker: invalid configuration/);
    assert.match(out, /REDIS_URL="http:\/\/nope": expected a URL starting with redis:\/\/ or rediss:\/\//);
    assert.match(out, /TRACKER_PORT="eighty": expected a TCP port number from 0 to 65535/);
  });
});
