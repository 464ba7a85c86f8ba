import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, createMetricsRegistry } from '../src/metrics.js';
import { startOpsServer } from '../src/ops-http.js';
import { Probes } from '../src/probes.js';
import { silentLogger } from '../src/logger.js';

describe('ops endpoints', () => {
  it('answers liveness, readiness with reasons, metrics, and 404 with the route', async (t) => {
    const registry = createMetricsRegistry('kafkastore');
    const produced = new Counter({ name: 'pushtech_events_produced_total', help: 'events', registers: [registry] });
    produced.inc(3);
    let kafkaUp: boolean | string = 'broker unreachable';
    const probes = new Probes()
      .add({ name: 'redis', check: () => true })
      .add({ name: 'kafka', check: () => kafkaUp })
      .add({
        name: 'flaky',
        check: () => {
          throw new Error('boom');
        },
      });
    const server = await startOpsServer({ host: '127.0.0.1', port: 0, probes, registry, logger: silentLogger() });
    t.after(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;

    const live = await fetch(`${base}/healthz`);
    assert.equal(live.status, 200);

    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), {
      ok: false,
      checks: { redis: 'ok', kafka: 'broker unreachable', flaky: 'boom' },
    });

    kafkaUp = true;
    probes.add({ name: 'late', check: () => Promise.resolve(true) });
    const stillFlaky = await fetch(`${base}/readyz`);
    assert.equal(stillFlaky.status, 503);

    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /pushtech_events_produced_total\{service="kafkastore"\} 3/);
    assert.match(text, /pushtech_process_cpu_seconds_total/);

    const missing = await fetch(`${base}/nope?x=1`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'no route for GET /nope\n');
  });

  it('turns not-ready once shutdown starts, while staying live', async () => {
    const probes = new Probes().add({ name: 'redis', check: () => true });
    assert.equal((await probes.ready()).ok, true);
    probes.markShuttingDown();
    const report = await probes.ready();
    assert.equal(report.ok, false);
    assert.equal(report.checks['shutdown'], 'shutting down');
    assert.equal(probes.live().ok, true);
  });

  it('exports readiness on /metrics as /readyz decides it at scrape time, per check too', async (t) => {
    const registry = createMetricsRegistry('consumers', { processMetrics: false });
    let redisUp: boolean | string = true;
    const probes = new Probes()
      .add({ name: 'redis', check: () => redisUp })
      .add({ name: 'kafka', check: () => Promise.resolve(true) });
    const server = await startOpsServer({ host: '127.0.0.1', port: 0, probes, registry, logger: silentLogger() });
    t.after(() => server.close());
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();

    let text = await scrape();
    assert.match(text, /^pushtech_ready\{service="consumers"\} 1$/m);
    assert.match(text, /^pushtech_ready_check\{check="redis",service="consumers"\} 1$/m);
    assert.match(text, /^pushtech_ready_check\{check="kafka",service="consumers"\} 1$/m);

    // Nothing polls /readyz in between: the next scrape sees the change by itself.
    redisUp = 'Redis not connected';
    text = await scrape();
    assert.match(text, /^pushtech_ready\{service="consumers"\} 0$/m);
    assert.match(text, /^pushtech_ready_check\{check="redis",service="consumers"\} 0$/m);
    assert.match(text, /^pushtech_ready_check\{check="kafka",service="consumers"\} 1$/m);

    redisUp = true;
    probes.markShuttingDown();
    text = await scrape();
    assert.match(text, /^pushtech_ready\{service="consumers"\} 0$/m);
    assert.match(text, /^pushtech_ready_check\{check="shutdown",service="consumers"\} 0$/m);
    assert.match(text, /^pushtech_ready_check\{check="redis",service="consumers"\} 1$/m);
    // One pair of gauges per registry, however many requests came.
    assert.equal(text.match(/^# TYPE pushtech_ready gauge$/gm)?.length, 1);
  });
});
