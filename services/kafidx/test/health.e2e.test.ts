/**
 * The pipeline-health strip in a real headless Chromium, read from the real /metrics of a real
 * tracker, kafkastore and consumers process (pixels fired through the real pipeline). A
 * screenshot is saved under .test-artifacts/ for a human to look at.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createMetricsRegistry } from '@pushtech/runtime';
import { freePort } from '@pushtech/devstack';
import { eventually, freshTopic, testInfra, testRedis, uniqueName } from '@pushtech/devstack/testing';
import { TOKEN, startTestKafidx } from './helpers.js';
import { launchBrowser } from './browser.js';
import { startMetricsServer } from './metrics-server.js';
import { artifacts, get, startService } from './pipeline-processes.js';

const INTERVAL_MS = 1000;

const text = (page: Page, selector: string): Promise<string> =>
  page
    .locator(selector)
    .first()
    .textContent()
    .then((s) => s ?? '');

/** The number in a rate like "stored 12.5/s" or "handled event_counter 3/s". */
const perSecond = (s: string): number => Number(/ ([\d.]+)\/s$/.exec(s)?.[1] ?? Number.NaN);

describe('pipeline-health strip end to end (headless Chromium)', () => {
  it('shows queue depth, rates, klag p99 and consumer lag from the real services, updates, and marks what is down or stale', async (t) => {
    const infra = await testInfra();
    const redis = await testRedis(t);
    const queue = redis.key('hits');
    const k0 = await freshTopic(t, { partitions: 2 });
    const dlq = await freshTopic(t, { partitions: 1 });
    const [trackerPort, kafkastorePort, consumersPort] = [await freePort(), await freePort(), await freePort()];
    const tracker = startService(t, 'tracker', {
      REDIS_URL: infra.redisUrl,
      REDIS_QUEUE_KEY: queue,
      TRACKER_HOST: '127.0.0.1',
      TRACKER_PORT: String(trackerPort),
      TRACKER_WORKERS: '1',
    });
    startService(t, 'kafkastore', {
      REDIS_URL: infra.redisUrl,
      REDIS_QUEUE_KEY: queue,
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC: k0,
      KAFKA_DLQ_TOPIC: dlq,
      KAFKASTORE_PORT: String(kafkastorePort),
      KAFKASTORE_INSTANCE: `health-e2e-${process.pid}`,
      GEOIP_DB: '',
    });
    startService(t, 'consumers', {
      REDIS_URL: infra.redisUrl,
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC: k0,
      KAFKA_DLQ_TOPIC: dlq,
      CONSUMER_NAME: 'event_counter',
      CONSUMER_GROUP_ID: uniqueName('health-e2e'),
      CONSUMER_KEY_PREFIX: redis.key('consumers'),
      CONSUMERS_HOST: '127.0.0.1',
      CONSUMERS_PORT: String(consumersPort),
    });
    // A broken exporter whose answer carries markup: it must show up as text in the strip.
    const broken = await startMetricsServer(t, createMetricsRegistry('broken', { processMetrics: false }));
    broken.serveText('<img src=x onerror=alert(1)>\n');

    const k = await startTestKafidx(t, {
      KAFKA_TOPIC: k0,
      KAFIDX_HEALTH_TARGETS: [
        `tracker=http://127.0.0.1:${trackerPort}/metrics`,
        `kafkastore=http://127.0.0.1:${kafkastorePort}/metrics`,
        `consumers=http://127.0.0.1:${consumersPort}/metrics`,
        `broken=${broken.url}`,
      ].join(','),
      KAFIDX_HEALTH_INTERVAL_MS: String(INTERVAL_MS),
    });
    // Generous: three services compile through tsx at start, on a machine that may be busy.
    for (const port of [trackerPort, kafkastorePort, consumersPort]) {
      await eventually(
        `service on ${port} ready`,
        async () => ((await get(port, '/readyz').catch(() => 0)) === 200 ? true : undefined),
        90_000,
      );
    }

    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${k.base}/login?token=${encodeURIComponent(TOKEN)}`);
    await page.locator('#connection[data-state=open]').waitFor({ timeout: 10_000 });

    // Every target read; the broken one is down, saying why, with its markup as text.
    const row = (name: string): string => `#health-targets li[data-target="${name}"]`;
    for (const name of ['tracker', 'kafkastore', 'consumers']) {
      await page.locator(`${row(name)}[data-state=up]`).waitFor({ timeout: 15_000 });
    }
    await page.locator(`${row('broken')}[data-state=down]`).waitFor({ timeout: 15_000 });
    assert.match(
      await text(page, `${row('broken')} .h-state`),
      /^DOWN: not Prometheus text: line 1: expected a metric name, got "<img src=x onerror=alert\(1\)>" \(never reached\)$/,
    );
    assert.equal(await page.locator('#health img, #health script').count(), 0);
    assert.match(await text(page, `${row('tracker')} .h-queue`), /^queue \d+$/);
    assert.match(await text(page, `${row('kafkastore')} .h-queue`), /^queue \d+$/);

    // Pixels through the pipeline: the rates of every stage, klag p99 and the lag appear.
    for (let i = 0; i < 40; i += 1) assert.equal(await get(trackerPort, `/t/health_e2e?n=${i}`), 204);
    const positive = async (selector: string): Promise<number> =>
      eventually(
        `${selector} above 0`,
        async () => {
          const n = perSecond(await text(page, selector));
          return n > 0 ? n : undefined;
        },
        30_000,
      );
    await positive(`${row('tracker')} .h-rate[data-stage=stored]`);
    await positive(`${row('kafkastore')} .h-rate[data-stage=produced]`);
    await positive(`${row('consumers')} .h-rate[data-stage=handled][data-consumer=event_counter]`);
    const klag = await eventually(
      'klag p99 of the pixels',
      async () => /^klag p99 ([\d.]+) ms$/.exec(await text(page, `${row('kafkastore')} .h-klag`))?.[1],
      30_000,
    );
    assert.ok(Number(klag) > 0);
    assert.match(await text(page, '#health-klag'), /^klag p99 (no events|[\d.]+ ms)$/);
    assert.match(
      await text(page, `${row('consumers')} .h-lag[data-consumer=event_counter]`),
      /^lag event_counter \d+$/,
    );
    // Once the burst is over the rates go back to 0: the strip keeps updating.
    await eventually(
      'the stored rate back to 0',
      async () =>
        perSecond(await text(page, `${row('tracker')} .h-rate[data-stage=stored]`)) === 0 ? true : undefined,
      30_000,
    );
    assert.match(await text(page, '#health-status'), /^read .+, every 1 s$/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'kafidx-health-strip.png'), fullPage: true });

    // The tracker dies: its line says so, its last queue depth is marked stale, the rest goes on.
    tracker.kill('SIGKILL');
    await page.locator(`${row('tracker')}[data-state=down]`).waitFor({ timeout: 15_000 });
    assert.match(await text(page, `${row('tracker')} .h-state`), /^DOWN: connection refused \(last read .+\)$/);
    assert.match(await text(page, `${row('tracker')} .h-queue`), /^queue \d+ \(stale\)$/);
    assert.equal(await page.locator(`${row('kafkastore')}[data-state=up]`).count(), 1);
    await page.screenshot({ path: path.join(artifacts, 'kafidx-health-strip-down.png'), fullPage: true });

    // kafidx goes away: after three intervals without an update the whole strip says it is stale.
    await k.stop();
    await page.locator('#health-status[data-stale=true]').waitFor({ timeout: 15_000 });
    assert.match(await text(page, '#health-status'), /^stale: no update since /);
    assert.deepEqual(dialogs, [], 'no dialog opened');
  });
});
