/**
 * The health strip's poller: kafidx (in this process) scrapes real HTTP servers that serve real
 * prom-client registries, and sends what it read over the dashboard's WebSocket.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, createMetricsRegistry, latencyBucketsMs, type Registry } from '@pushtech/runtime';
import { eventually } from '@pushtech/devstack/testing';
import { startTestKafidx, type Message, type TestKafidx, type TestSocket } from './helpers.js';
import { startMetricsServer } from './metrics-server.js';

const INTERVAL_MS = 500;

/** The tracker's metrics of the strip, under the tracker's names, in a real registry. */
function trackerRegistry(stored: number, queue: number): Registry {
  const registry = createMetricsRegistry('tracker');
  new Counter({ name: 'pushtech_tracker_events_stored_total', help: 'stored', registers: [registry] }).inc(stored);
  new Gauge({ name: 'pushtech_tracker_queue_length', help: 'queue', registers: [registry] }).set(queue);
  return registry;
}

interface TargetView {
  name: string;
  up: boolean;
  error: string | null;
  lastUpAt: number | null;
  queue: { seenBy: string; depth: number } | null;
  rates: { stage: string; consumer: string; perSecond: number }[];
  overSeconds: number | null;
  lag: { consumer: string; messages: number }[];
  klag: { p99Ms: number | null } | null;
}

const healthMessages = (s: TestSocket, from = 0): Message[] =>
  s.messages.slice(from).filter((m) => m['t'] === 'health');
const targetOf = (m: Message, name: string): TargetView => {
  const target = (m['targets'] as TargetView[]).find((x) => x.name === name);
  assert.ok(target, `${name} is in the health message`);
  return target;
};
/** Events a stage gained over the message's interval (rate × seconds); 0 when it has no rate. */
function gained(m: Message, name: string, stage: string, consumer = ''): number {
  const target = targetOf(m, name);
  const rate = target.rates.find((r) => r.stage === stage && r.consumer === consumer);
  return rate === undefined || target.overSeconds === null
    ? 0
    : Math.round(rate.perSecond * target.overSeconds * 1e6) / 1e6;
}

async function scrapeCount(k: TestKafidx): Promise<number> {
  const text = await (await fetch(`${k.opsBase}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^pushtech_kafidx_health_scrapes_total\{[^}]*\} (\d+)$/gm)) total += Number(m[1]);
  return total;
}

describe('health strip poller', () => {
  it('reads queue depth, stage rates, klag p99 and consumer lag from real /metrics; resets, unreachable and broken targets', async (t) => {
    const tracker = await startMetricsServer(t, trackerRegistry(1000, 7));

    const kafkastore = createMetricsRegistry('kafkastore');
    new Gauge({ name: 'pushtech_kafkastore_queue_depth', help: 'depth', registers: [kafkastore] }).set(3);
    const produced = new Counter({
      name: 'pushtech_kafkastore_events_produced_total',
      help: 'produced',
      registers: [kafkastore],
    });
    const klag = new Histogram({
      name: 'pushtech_kafkastore_klag_ms',
      help: 'klag',
      buckets: latencyBucketsMs,
      registers: [kafkastore],
    });
    // History before anyone watched: 1,000 fast events, which the p99 of the next interval must not see.
    for (let i = 0; i < 1000; i += 1) klag.observe(1);
    const kafkastoreServer = await startMetricsServer(t, kafkastore);

    const consumers = createMetricsRegistry('consumers');
    const handled = new Counter({
      name: 'pushtech_consumer_events_handled_total',
      help: 'handled',
      labelNames: ['consumer'],
      registers: [consumers],
    });
    const lag = new Gauge({
      name: 'pushtech_consumer_lag',
      help: 'lag',
      labelNames: ['consumer', 'topic', 'partition'],
      registers: [consumers],
    });
    lag.set({ consumer: 'event_counter', topic: 'events', partition: '0' }, 5);
    lag.set({ consumer: 'event_counter', topic: 'events', partition: '1' }, 6);
    lag.set({ consumer: 'stats', topic: 'events', partition: '0' }, 0);
    const consumersServer = await startMetricsServer(t, consumers);

    const k = await startTestKafidx(t, {
      KAFIDX_HEALTH_TARGETS: `tracker=${tracker.url},kafkastore=${kafkastoreServer.url},consumers=${consumersServer.url}`,
      KAFIDX_HEALTH_INTERVAL_MS: String(INTERVAL_MS),
    });
    const s = await k.connect();
    s.send({ t: 'health' });
    const first = await s.next((m) => m['t'] === 'health');
    assert.equal(first['enabled'], true);
    assert.equal(first['intervalMs'], INTERVAL_MS);
    assert.deepEqual(
      (first['targets'] as TargetView[]).map((x) => [x.name, x.up]),
      [
        ['tracker', true],
        ['kafkastore', true],
        ['consumers', true],
      ],
    );
    assert.deepEqual(targetOf(first, 'tracker').queue, { seenBy: 'tracker', depth: 7 });
    assert.deepEqual(targetOf(first, 'kafkastore').queue, { seenBy: 'kafkastore', depth: 3 });
    assert.equal(targetOf(first, 'consumers').queue, null);
    assert.deepEqual(targetOf(first, 'consumers').lag, [
      { consumer: 'event_counter', messages: 11 },
      { consumer: 'stats', messages: 0 },
    ]);
    assert.deepEqual(targetOf(first, 'tracker').rates, [], 'no rate from one scrape');
    assert.deepEqual(targetOf(first, 'kafkastore').klag, { p99Ms: null });
    assert.equal(targetOf(first, 'tracker').klag, null, 'the tracker has no klag histogram');

    // One burst between two scrapes (this process runs kafidx and the servers: no scrape interleaves).
    const afterFirst = s.messages.length;
    const trackerRegistryNow = trackerRegistry(1100, 7);
    tracker.serve(trackerRegistryNow);
    produced.inc(90);
    handled.inc({ consumer: 'event_counter' }, 80);
    handled.inc({ consumer: 'stats' }, 80);
    for (let i = 0; i < 98; i += 1) klag.observe(3);
    klag.observe(800);
    klag.observe(800);
    const burst = await s.next(
      (m) => m['t'] === 'health' && s.messages.indexOf(m) >= afterFirst && gained(m, 'tracker', 'stored') > 0,
    );
    assert.equal(gained(burst, 'tracker', 'stored'), 100);
    assert.equal(gained(burst, 'kafkastore', 'produced'), 90);
    assert.equal(gained(burst, 'consumers', 'handled', 'event_counter'), 80);
    assert.equal(gained(burst, 'consumers', 'handled', 'stats'), 80);
    // 98 at 3 ms and 2 at 800 ms: rank 99 of 100 lies half-way into the (500, 1000] bucket.
    assert.deepEqual(targetOf(burst, 'kafkastore').klag, { p99Ms: 750 });
    assert.deepEqual(burst['klag'], { p99Ms: 750 });
    for (const m of healthMessages(s, afterFirst).filter((x) => x !== burst)) {
      assert.equal(gained(m, 'tracker', 'stored'), 0, 'the burst is counted in one interval only');
    }

    // The tracker restarts: its counter starts again from 0, and 5 events are new, not -1,095.
    const afterReset = s.messages.length;
    tracker.serve(trackerRegistry(5, 0));
    const reset = await s.next(
      (m) => m['t'] === 'health' && s.messages.indexOf(m) >= afterReset && gained(m, 'tracker', 'stored') !== 0,
    );
    assert.equal(gained(reset, 'tracker', 'stored'), 5);
    assert.deepEqual(targetOf(reset, 'tracker').queue, { seenBy: 'tracker', depth: 0 });

    // A target that stops answering is shown as down, with its last values; the others go on.
    const seen = targetOf(reset, 'consumers').lastUpAt;
    await consumersServer.close();
    const down = await s.next((m) => m['t'] === 'health' && !targetOf(m, 'consumers').up);
    assert.equal(targetOf(down, 'consumers').error, 'connection refused');
    assert.ok((targetOf(down, 'consumers').lastUpAt ?? 0) >= (seen ?? Infinity), 'when it was last read');
    assert.deepEqual(targetOf(down, 'consumers').rates, []);
    assert.equal(targetOf(down, 'consumers').lag.length, 2, 'the last lag is kept (the page marks it stale)');
    assert.equal(targetOf(down, 'tracker').up, true);

    // One that answers something that is not Prometheus text is down too, and says why.
    kafkastoreServer.serveText('<html><body>502 Bad Gateway</body></html>\n');
    const broken = await s.next((m) => m['t'] === 'health' && !targetOf(m, 'kafkastore').up);
    assert.match(targetOf(broken, 'kafkastore').error ?? '', /^not Prometheus text: line 1: expected a metric name/);
    assert.equal(targetOf(broken, 'tracker').up, true);
    kafkastoreServer.serve(kafkastore);
    await s.next(
      (m) => m['t'] === 'health' && s.messages.indexOf(m) > s.messages.indexOf(broken) && targetOf(m, 'kafkastore').up,
    );
    assert.ok((await scrapeCount(k)) > 0);
  });

  it('scrapes nothing while no browser has the page open, and starts afresh when one comes back', async (t) => {
    const tracker = await startMetricsServer(t, trackerRegistry(10, 1));
    const k = await startTestKafidx(t, {
      KAFIDX_HEALTH_TARGETS: `tracker=${tracker.url}`,
      KAFIDX_HEALTH_INTERVAL_MS: String(INTERVAL_MS),
    });
    // Absence can only be seen by waiting: four intervals with nobody there.
    await sleep(4 * INTERVAL_MS);
    assert.equal(tracker.requests, 0, 'no scrape before a browser came');
    assert.equal(await scrapeCount(k), 0);

    const s = await k.connect();
    s.send({ t: 'health' });
    await s.next((m) => m['t'] === 'health');
    await eventually('scraped every interval while watched', () => (tracker.requests >= 3 ? true : undefined));
    // On one kept-alive connection: a multi-worker tracker answers from the worker it landed on.
    assert.equal(tracker.connections, 1, `${tracker.requests} scrapes over one connection`);

    s.close();
    await eventually('kafidx saw the browser leave', async () => {
      const text = await (await fetch(`${k.opsBase}/metrics`)).text();
      return /^pushtech_kafidx_sockets\{service="kafidx"\} 0$/m.test(text) ? true : undefined;
    });
    await sleep(INTERVAL_MS); // a scrape already in flight may still finish
    const left = tracker.requests;
    await sleep(4 * INTERVAL_MS);
    assert.equal(tracker.requests, left, 'no scrape after the last browser left');
    assert.equal(await tracker.openConnections(), 0, 'and no connection kept open');

    // Back again: scraping resumes, and rates start afresh (not over the gap nobody watched).
    const again = await k.connect();
    again.send({ t: 'health' });
    const fresh = await again.next((m) => m['t'] === 'health');
    assert.deepEqual(targetOf(fresh, 'tracker').rates, []);
    assert.equal(targetOf(fresh, 'tracker').overSeconds, null);
    assert.ok(tracker.requests > left);
  });

  it('tells the page there is no strip when no target is set', async (t) => {
    const k = await startTestKafidx(t);
    const s = await k.connect();
    s.send({ t: 'health' });
    assert.deepEqual(await s.next((m) => m['t'] === 'health'), { t: 'health', enabled: false });
  });
});
