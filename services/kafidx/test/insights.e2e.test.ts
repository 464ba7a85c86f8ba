/**
 * The Insights view (issue 24) in a real headless Chromium (Debian's, via playwright-core): the
 * PostgreSQL sink's own handler writes known events into a test database, kafidx reads the
 * rollups and draws them as SVG. Names from events are text, never markup. A screenshot is
 * saved under .test-artifacts/ for a human to look at.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ConsumedEvent, ConsumerContext } from '@pushtech/consumer-kit';
import { builtInConsumers } from '@pushtech/consumers/built-in';
import { repoRoot } from '@pushtech/devstack';
import { testDatabase } from '@pushtech/devstack/testing';
import { sampleEvent } from '@pushtech/event/testing';
import { createMetricsRegistry, silentLogger } from '@pushtech/runtime';
import { launchBrowser } from './browser.js';
import { TOKEN, startTestKafidx } from './helpers.js';

const artifacts = process.env['PUSHTECH_TEST_ARTIFACTS'] ?? path.join(repoRoot, '.test-artifacts');
const MARKUP = '<img src=x onerror=alert(1)>';
const HOUR = 3_600_000;

/** Writes events through postgres_sink's handler, as the consumer kit would call it. */
async function sinkWrite(url: string, events: readonly ConsumedEvent[]): Promise<void> {
  const sink = builtInConsumers.find((d) => d.name === 'postgres_sink');
  assert.ok(sink);
  const abort = new AbortController();
  const ctx = {
    name: 'postgres_sink',
    config: {
      POSTGRES_URL: url,
      POSTGRES_RETENTION_DAYS: 30,
      POSTGRES_PARTITIONS_AHEAD_DAYS: 1,
      POSTGRES_POOL_SIZE: 1,
    },
    logger: silentLogger(),
    metrics: createMetricsRegistry('insights-test', { processMetrics: false }),
    signal: abort.signal,
  } as unknown as ConsumerContext<unknown>;
  try {
    await sink.handleBatch(events, ctx);
  } finally {
    abort.abort();
  }
}

function consumed(type: string, ts: number, country: string, device: string, deviceId: string): ConsumedEvent {
  const e = sampleEvent({ type, meta: { ts, country, type: device }, params: [['deviceid', deviceId]] });
  return {
    id: e.meta.id,
    type: e.type,
    meta: e.meta,
    params: e.params,
    receivedAt: e.meta.ts,
    producedAt: e.meta.ts,
    message: '',
    source: { topic: 'events', partition: 0, offset: '0' },
  };
}

describe('kafidx Insights (PostgreSQL sink rollups)', () => {
  it('draws events per hour by type, top countries and device types, devices per hour; names as text', async (t) => {
    const url = await testDatabase(t, 'insights');
    const now = Date.now();
    const events: ConsumedEvent[] = [];
    for (let h = 0; h < 48; h++) {
      const ts = now - h * HOUR;
      for (let i = 0; i < 1 + (h % 5); i++) events.push(consumed('app_open', ts, 'DE', 'Mobile', `d${i}`));
      if (h % 3 === 0) events.push(consumed('purchase', ts, 'FR', 'Desktop', 'buyer'));
    }
    events.push(consumed(MARKUP, now, MARKUP, MARKUP, 'x'));
    // Older than 48 hours: not shown.
    events.push(consumed('ancient', now - 60 * HOUR, 'BR', 'Tablet', 'old'));
    await sinkWrite(url, events);

    const k = await startTestKafidx(t, { POSTGRES_URL: url });
    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${k.base}/login`);
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${k.base}/`), page.click('button[type=submit]')]);
    await page.goto(`${k.base}/insights`);

    const lines = page.locator('#chart-types polyline');
    const types: (string | null)[] = [];
    for (let i = 0; i < (await lines.count()); i++) types.push(await lines.nth(i).getAttribute('data-type'));
    assert.deepEqual(types, ['app_open', 'purchase', MARKUP], 'busiest first; the old type left out');
    const legend = await page.locator('.legend li').allTextContents();
    const appOpen = events.filter((e) => e.type === 'app_open').length;
    assert.deepEqual(legend, [`app_open ${appOpen}`, 'purchase 16', `${MARKUP} 1`]);
    assert.deepEqual(await page.locator('#chart-countries .label').allTextContents(), ['DE', 'FR', MARKUP]);
    assert.deepEqual(await page.locator('#chart-device-types .label').allTextContents(), ['Mobile', 'Desktop', MARKUP]);
    const bars = await page.locator('#chart-devices rect.bar title').allTextContents();
    assert.equal(bars.length, 48);
    // The current hour: d0 and the markup device; app_open 1 + (0 % 5) = 1 device, buyer, x.
    assert.match(bars.at(-1) ?? '', /: 3 devices$/);
    assert.equal(await page.locator('img').count(), 0, 'no element from an event name');
    assert.deepEqual(dialogs, []);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'kafidx-insights.png'), fullPage: true });
  });

  it('without POSTGRES_URL, /insights says what to set; without a session, it asks to log in', async (t) => {
    const k = await startTestKafidx(t);
    assert.equal((await fetch(`${k.base}/insights`)).status, 401);
    const res = await fetch(`${k.base}/insights`, { headers: { cookie: await k.cookie() } });
    assert.equal(res.status, 404);
    assert.match(
      await res.text(),
      /run the consumer <code>postgres_sink<\/code> and give kafidx the same <code>POSTGRES_URL/,
    );
  });
});
