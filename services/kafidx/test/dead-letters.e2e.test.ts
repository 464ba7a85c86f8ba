/**
 * The page's Dead letters panel in a real headless Chromium (Debian's chromium, driven by
 * playwright-core), fed by a real dead-letter topic. A screenshot is saved under .test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { deadLetterHeaders, encodeMessage, encodeRawHit, newEventId } from '@pushtech/event';
import { repoRoot } from '@pushtech/devstack';
import { freshTopic } from '@pushtech/devstack/testing';
import { TOKEN, produceLetters, startTestKafidx, trackingEvent } from './helpers.js';
import { launchBrowser } from './browser.js';

const artifacts = process.env['PUSHTECH_TEST_ARTIFACTS'] ?? path.join(repoRoot, '.test-artifacts');
const MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>';

describe('dead letters in the dashboard (headless Chromium)', () => {
  it('lists letters with reason, source, time and event id, filters them, and renders the raw entry as text', async (t) => {
    const dlq = await freshTopic(t, { prefix: 'kafidx-e2e-dlq', partitions: 1 });
    const now = Date.now();
    const rawId = newEventId();
    // An entry full of markup, as kafkastore dead-letters it: whole, as text.
    const entry = encodeRawHit({
      id: rawId,
      ts: now,
      ip: 'not an ip',
      host: 'h',
      pod: 'p',
      type: MARKUP,
      params: `q=${encodeURIComponent(MARKUP)}`,
      ua: MARKUP,
    });
    const kitEvent = trackingEvent('explodes');
    await produceLetters(dlq, [
      {
        key: null,
        value: entry,
        headers: deadLetterHeaders({
          source: 'kafkastore',
          reason: 'undecodable',
          error: `raw hit: ${MARKUP} is not an IP address`,
          payload: 'raw-entry',
          originalTopic: 'events',
          time: now - 2000,
          id: rawId,
        }),
      },
      {
        key: 'device-1',
        value: encodeMessage(kitEvent),
        headers: deadLetterHeaders({
          source: 'consumer',
          consumer: 'event_counter',
          reason: 'handler_failed',
          error: 'cannot handle explodes',
          payload: 'message',
          originalTopic: 'events',
          originalPartition: 0,
          originalOffset: '3',
          time: now - 1000,
          id: kitEvent.meta.id,
        }),
      },
    ]);
    const k = await startTestKafidx(t, { KAFKA_DLQ_TOPIC: dlq });

    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${k.base}/login`);
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${k.base}/`), page.click('button[type=submit]')]);
    await page.locator('#connection[data-state=open]').waitFor({ timeout: 10_000 });

    assert.equal(await page.locator('#dlq-panel').isHidden(), true, 'the live stream is the first tab');
    await page.click('#tab-dlq');
    assert.equal(await page.locator('#live-panel').isHidden(), true);
    const rows = page.locator('#dlq-letters tbody tr');
    await rows.nth(1).waitFor({ timeout: 15_000 });
    await page.locator('#dlq-count', { hasText: '2' }).waitFor();
    // Newest first: place, source, reason, event id, error, each as its own cell.
    const cells = async (row: number): Promise<string[]> => rows.nth(row).locator('td').allTextContents();
    const [kitRow, storeRow] = [await cells(0), await cells(1)];
    assert.deepEqual(kitRow.slice(1), [
      '0:1',
      'consumer:event_counter',
      'handler_failed',
      kitEvent.meta.id,
      'cannot handle explodes',
    ]);
    assert.deepEqual(storeRow.slice(1, 5), ['0:0', 'kafkastore', 'undecodable', rawId]);
    assert.equal(storeRow[5], `raw hit: ${MARKUP} is not an IP address`, 'markup in the error is text');
    assert.equal(kitRow[0], new Date(now - 1000).toISOString().replace('T', ' ').replace('Z', ''));

    // The raw entry, markup and all, is text in the detail: no element, no script, no dialog.
    await rows.nth(1).click();
    assert.equal(await page.locator('#dlq-detail-raw').textContent(), entry);
    assert.equal(await page.locator('#dlq-panel img, #dlq-panel script').count(), 0);
    assert.match((await page.locator('#dlq-detail-headers').textContent()) ?? '', /payloadraw-entry/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'kafidx-dead-letters.png'), fullPage: true });

    // Filters: reason, source, text.
    await page.selectOption('#dlq-reason', 'handler_failed');
    assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['0:1']);
    await page.selectOption('#dlq-reason', '');
    await page.fill('#dlq-source', 'kafkastore');
    assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['0:0']);
    await page.fill('#dlq-source', '');
    await page.fill('#dlq-text', 'onerror');
    assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['0:0'], 'text in the entry');
    await page.fill('#dlq-text', 'explodes');
    assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['0:1']);
    await page.fill('#dlq-text', '');

    // A letter written while the page is open appears without a reload.
    const lateId = newEventId();
    await produceLetters(dlq, [
      {
        key: null,
        value: 'late entry',
        headers: deadLetterHeaders({
          source: 'kafkastore',
          reason: 'too_large',
          error: 'too large',
          payload: 'raw-entry',
          originalTopic: 'events',
          time: Date.now(),
          id: lateId,
        }),
      },
    ]);
    await page.locator('#dlq-letters tbody tr', { hasText: lateId }).waitFor({ timeout: 15_000 });
    assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['0:2', '0:1', '0:0']);
    assert.deepEqual(dialogs, [], 'no dialog opened');
  });
});
