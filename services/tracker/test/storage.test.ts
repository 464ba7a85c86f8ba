import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, startRedisServer } from '@pushtech/devstack';
import { eventually } from '@pushtech/devstack/testing';
import { errorOf, request, startTestTracker } from './helpers.js';

function histogramCount(metrics: string, name: string): number {
  return Number(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
}

describe('storing', () => {
  it('N concurrent clients: exactly N entries, none lost or merged, pushed in shared LPUSHes', async (t) => {
    const tt = await startTestTracker(t);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    t.after(() => agent.destroy());
    const n = 3000;
    const statuses = await Promise.all(
      Array.from({ length: n }, (_, i) => request(tt.port, 'GET', `/t/load?i=${i}`, { agent }).then((r) => r.status)),
    );
    assert.deepEqual(new Set(statuses), new Set([204]));
    const hits = await tt.stored();
    assert.equal(hits.length, n);
    assert.equal(new Set(hits.map((h) => h.id)).size, n, 'every event its own id');
    assert.deepEqual(
      hits.map((h) => h.params).sort(),
      Array.from({ length: n }, (_, i) => `i=${i}`).sort(),
      'every request stored once',
    );
    const metrics = (await request(tt.port, 'GET', '/metrics')).text;
    const pushes = histogramCount(metrics, 'pushtech_tracker_push_batch_events');
    assert.ok(pushes < n, `requests share LPUSHes (${pushes} pushes for ${n} requests)`);
  });

  it('at the buffer cap: 503 with Retry-After and not-ready; below it again: accepted without a restart', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_MAX_QUEUE: '5', TRACKER_RETRY_AFTER_SECONDS: '7' });
    for (let i = 0; i < 5; i += 1) assert.equal((await request(tt.port, 'GET', `/t/a?i=${i}`)).status, 204);
    const full = await request(tt.port, 'GET', '/t/a?i=5');
    assert.equal(full.status, 503);
    assert.equal(full.headers['retry-after'], '7');
    assert.match(errorOf(full).detail, /the buffer holds 5 events; the cap is 5/);
    const ready = await request(tt.port, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /the cap is 5/);
    assert.equal((await tt.stored()).length, 5);
    // What the alerts read (monitoring/alerts.yml): the queue against its cap, the 503 with its
    // reason, and readiness, all on one scrape.
    const metrics = (await request(tt.port, 'GET', '/metrics')).text;
    assert.match(metrics, /^pushtech_tracker_max_queue\{service="tracker"\} 5$/m);
    assert.match(metrics, /^pushtech_tracker_queue_length\{service="tracker"\} 5$/m);
    assert.match(metrics, /^pushtech_tracker_requests_total\{route="track",status="503",service="tracker"\} 1$/m);
    assert.match(metrics, /^pushtech_tracker_events_rejected_total\{reason="queue_full",service="tracker"\} 1$/m);
    assert.match(metrics, /^pushtech_ready\{service="tracker"\} 0$/m);
    assert.match(metrics, /^pushtech_ready_check\{check="buffer",service="tracker"\} 0$/m);

    await tt.redis.client.ltrim(tt.queueKey, 0, 1); // kafkastore drained 3 of them
    await eventually('ready again', async () =>
      (await request(tt.port, 'GET', '/readyz')).status === 200 ? true : undefined,
    );
    assert.equal((await request(tt.port, 'GET', '/t/a?i=6')).status, 204);
  });

  it('Redis killed: 503 and not-ready; Redis back: 2xx again without a restart', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tracker-redis-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    let redis = await startRedisServer({ port, dir });
    t.after(() => redis.stop());
    const tt = await startTestTracker(t, { REDIS_URL: redis.url });
    assert.equal((await request(tt.port, 'GET', '/t/before')).status, 204);

    await redis.process.kill();
    const down = await eventually('503 while Redis is down', async () => {
      const res = await request(tt.port, 'GET', '/t/during');
      return res.status === 503 ? res : undefined;
    });
    assert.ok(down.headers['retry-after']);
    assert.match(errorOf(down).detail, /Redis/);
    assert.equal((await request(tt.port, 'GET', '/readyz')).status, 503);
    assert.equal((await request(tt.port, 'GET', '/healthz')).status, 200, 'alive though not ready');

    redis = await startRedisServer({ port, dir });
    await eventually(
      'accepted again',
      async () => ((await request(tt.port, 'GET', '/t/after')).status === 204 ? true : undefined),
      15_000,
    );
    assert.equal((await request(tt.port, 'GET', '/readyz')).status, 200);
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    t.after(() => client.disconnect());
    const entries = await client.lrange(tt.queueKey, 0, -1);
    assert.ok(
      entries.some((e) => e.includes('"before"')),
      'the AOF kept the event stored before the crash',
    );
    assert.ok(entries.some((e) => e.includes('"after"')));
    assert.ok(!entries.some((e) => e.includes('"during"')), 'refused events were not stored');
  });
});
