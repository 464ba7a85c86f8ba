/**
 * The dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core),
 * fed by the real pipeline: pixels fired at the tracker, drained by kafkastore into Kafka, read
 * by kafidx. A screenshot is saved under .test-artifacts/ for a human to look at.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { freePort } from '@pushtech/devstack';
import { eventually, freshTopic, testInfra, testRedis } from '@pushtech/devstack/testing';
import { TOKEN, startTestKafidx } from './helpers.js';
import { launchBrowser } from './browser.js';
import { artifacts, get, startService } from './pipeline-processes.js';

const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

const fire = (port: number, target: string): Promise<number> => get(port, target, { 'User-Agent': iphone });

const rowTexts = (page: Page): Promise<string[]> => page.locator('#events tbody tr td:nth-child(2)').allTextContents();

describe('dashboard end to end (headless Chromium)', () => {
  it('logs in, shows pixels from the real pipeline within 2 s, filters, pauses, and renders markup as text', async (t) => {
    const infra = await testInfra();
    const redis = await testRedis(t);
    const queue = redis.key('hits');
    const k = await startTestKafidx(t, { KAFIDX_MAX_EVENTS_PER_SECOND: '1000' });
    const dlq = await freshTopic(t, { partitions: 1 });
    const trackerPort = await freePort();
    startService(t, 'tracker', {
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
      KAFKA_TOPIC: k.topic,
      KAFKA_DLQ_TOPIC: dlq,
      KAFKASTORE_PORT: '0',
      KAFKASTORE_INSTANCE: `e2e-${process.pid}`,
      GEOIP_DB: '',
    });
    await eventually(
      'tracker up',
      async () => ((await fire(trackerPort, '/readyz').catch(() => 0)) === 200 ? true : undefined),
      // Generous: two services compile through tsx at start, on a machine that may be busy.
      60_000,
    );

    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });

    // Without the token: the page is refused, and so is a socket opened from it.
    const refused = await page.goto(`${k.base}/`);
    assert.equal(refused?.status(), 401);
    await page.locator('input[name=token]').waitFor();
    const socketOpened = await page.evaluate(
      (url) =>
        new Promise<boolean>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve(true);
          ws.onclose = () => resolve(false);
        }),
      `ws://127.0.0.1:${k.port}/ws`,
    );
    assert.equal(socketOpened, false);

    // Log in with the form.
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${k.base}/`), page.click('button[type=submit]')]);
    await page.locator('#connection[data-state=open]').waitFor({ timeout: 10_000 });

    // Pixels through tracker -> Redis -> kafkastore -> Kafka -> kafidx -> browser, within 2 s.
    const fired = Date.now();
    assert.equal(await fire(trackerPort, '/t/app_open?deviceid=e2e-1'), 204);
    await page.locator('#events tbody tr', { hasText: 'app_open' }).first().waitFor({ timeout: 2_000 });
    const latencyMs = Date.now() - fired;
    assert.ok(latencyMs <= 2_000);

    // Markup in an event name is text: no element, no script, no dialog.
    const xss = '<img src=x onerror=alert(1)>';
    assert.equal(
      await fire(trackerPort, `/t/${encodeURIComponent(xss)}?q=${encodeURIComponent('<script>alert(2)</script>')}`),
      204,
    );
    await page.locator('#events tbody tr td', { hasText: xss }).first().waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('#events img, #events script').count(), 0);
    await page.locator('#events tbody tr', { hasText: xss }).first().click();
    assert.equal(
      await page
        .locator('#detail-raw')
        .textContent()
        .then((s) => s?.startsWith('%3Cimg')),
      true,
    );
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'kafidx-dashboard-detail.png'), fullPage: true });

    // Filter: only click events from now on.
    await page.fill('#f-types', 'click');
    await page.click('#apply');
    await page.locator('#apply[data-applied*="click"]').waitFor({ timeout: 5_000 });
    await page.click('#clear');
    await fire(trackerPort, '/t/app_open?after=filter');
    await fire(trackerPort, '/t/click?after=filter');
    await page.locator('#events tbody tr', { hasText: 'click' }).first().waitFor({ timeout: 5_000 });
    assert.deepEqual(await rowTexts(page), ['click']);

    // Pause: nothing arrives; resume: new events arrive again. A second, unpaused socket is the
    // witness that the paused event went through kafidx before the page resumes.
    const witness = await k.connect();
    await page.click('#pause');
    await page.locator('#pause[data-server=paused]').waitFor({ timeout: 5_000 });
    await fire(trackerPort, '/t/click?while=paused');
    await eventually('the witness sees the paused event', () =>
      witness.events().some((e) => JSON.stringify(e).includes('while')) ? true : undefined,
    );
    await page.click('#pause');
    await page.locator('#pause[data-server=resumed]').waitFor({ timeout: 5_000 });
    await fire(trackerPort, '/t/click?after=resume');
    await page.locator('#events tbody tr', { hasText: 'after=resume' }).first().waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('#events tbody tr', { hasText: 'while=paused' }).count(), 0);

    await page.screenshot({ path: path.join(artifacts, 'kafidx-dashboard-filtered.png'), fullPage: true });
    assert.deepEqual(dialogs, [], 'no dialog opened');
    console.log(`pixel to dashboard row: ${latencyMs} ms`);
  });
});
