import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { isAlive } from '../src/leftovers.js';
import { freePort, isListening } from '../src/ports.js';
import { pingRedis, startRedisServer } from '../src/redis-server.js';

describe('startRedisServer', () => {
  it('runs a Redis configured as the event buffer and stops it without a trace', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const redis = await startRedisServer({ port, dir });
    t.after(() => redis.stop());

    const client = new Redis(redis.url);
    t.after(() => client.disconnect());
    const config = (await client.config('GET', 'maxmemory-policy', 'appendonly', 'appendfsync', 'bind')) as string[];
    const asMap: Record<string, string> = {};
    for (let i = 0; i + 1 < config.length; i += 2) asMap[config[i] as string] = config[i + 1] as string;
    assert.deepEqual(asMap, {
      'maxmemory-policy': 'noeviction',
      appendonly: 'yes',
      appendfsync: 'always',
      bind: '127.0.0.1',
    });
    await client.lpush('k', 'v');
    assert.equal(await client.lpop('k'), 'v');
    client.disconnect();

    await redis.stop();
    assert.equal(redis.process.hasExited, true);
    assert.equal(isAlive(redis.process.pid), false);
    assert.equal(await isListening(port), false);
    assert.equal(await pingRedis(port), false);
    assert.ok(existsSync(path.join(dir, 'appendonlydir')), 'AOF directory written');
  });

  it('reports a start failure with the log, instead of hanging', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startRedisServer({ port: await freePort(), dir: path.join(dir, 'a') });
    t.after(() => first.stop());
    await assert.rejects(startRedisServer({ port: first.port, dir: path.join(dir, 'b'), startTimeoutMs: 10_000 }), {
      message: new RegExp(
        `redis-server: port ${first.port} is served by another Redis \\(pid ${first.process.pid}\\)|exited during start-up`,
      ),
    });
  });
});
