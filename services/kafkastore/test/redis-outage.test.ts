/**
 * Redis restarting under a running kafkastore: a private Redis (AOF on, as deployed) is stopped
 * mid-stream and started again on the same port and data. The same process must reconnect both
 * of its connections (the blocking one too) and deliver every event the tracker stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { freePort, startRedisServer, type RedisServer } from '@pushtech/devstack';
import { eventually, testKafka } from '@pushtech/devstack/testing';
import { Redis } from 'ioredis';
import { lastInLine } from './helpers/cleanup-stack.js';
import { serviceSetup } from './helpers/env.js';
import { streamHits } from './helpers/hits.js';
import { startService } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

it('reconnects to a restarted Redis by itself and loses nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kafkastore-redis-outage-'));
  const redisOptions = { port: await freePort(), dir, appendOnly: true };
  let server: RedisServer | undefined = await startRedisServer(redisOptions);
  lastInLine(t).after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const setup = await serviceSetup(t);
  const env = { ...setup.env, REDIS_URL: server.url };
  // The tracker side: a write that fails while Redis is away is not "accepted" and not counted.
  const tracker = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  tracker.on('error', () => undefined);
  t.after(() => tracker.disconnect());
  const service = startService(t, env);
  await service.ready();

  const stream = streamHits(tracker, setup.queueKey, { perPush: 20, everyMs: 10, skipRefused: true });
  const { ids } = stream;

  await eventually('some events to flow', () => (ids.length > 300 ? true : undefined));
  await server.stop();
  server = undefined;
  await eventually('kafkastore to report not-ready', async () => ((await service.readyz()) === 503 ? true : undefined));
  server = await startRedisServer(redisOptions);
  await service.ready();
  const afterRestart = ids.length;
  await eventually('events to flow again', () => (ids.length > afterRestart + 300 ? true : undefined), 20_000);
  await stream.stop();

  const reader = await readTopic(t, await testKafka(), setup.topic);
  await reader.waitForIds(ids);
  const check = new Redis(server.url);
  t.after(() => check.disconnect());
  await eventually('the queue to be empty', async () => ((await check.llen(setup.queueKey)) === 0 ? true : undefined));
  assert.equal(service.child.exitCode, null, 'the same process recovered, no restart');
  const messages = service.logs.map((l) => l['msg']);
  assert.ok(messages.includes('Redis connection lost; reconnecting'));
  assert.ok(messages.includes('Redis connection restored'));
});
