/**
 * The browser build in a real headless Chromium (Debian's chromium, driven by playwright-core),
 * on a page served by a test server and sending cross-origin to the real tracker (with a write
 * key: a header on fetch, the write_key param on a beacon), drained by kafkastore into Kafka.
 * Online, offline and back (the DevTools protocol's network emulation), a reload, a closed page
 * (beacon) and a page closed while offline then a new one: every id reaches Kafka, and the
 * consumer kit's dedup counts each once. The negative control: ids tracked in a page whose
 * requests to the tracker are all aborted, closed and never opened again, are named missing by
 * the same audit.
 */
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { freePort } from '@pushtech/devstack';
import { chromiumLaunchOptions, eventually, type Cleanup } from '@pushtech/devstack/testing';
import { buildBundles } from '../scripts/bundles.js';
import { audit, readUntil, startPipeline } from './pipeline.js';

const WRITE_KEY = 'wk-browser-test';

async function launchBrowser(t: Cleanup): Promise<Browser> {
  const browser = await chromium.launch(chromiumLaunchOptions());
  t.after(() => browser.close());
  return browser;
}

/** Serves a page that loads pushtech.min.js and calls init with the options in its URL's hash. */
async function pageServer(t: Cleanup, script: string, endpoint: string): Promise<string> {
  const html = `<!doctype html><title>sdk</title><script src="/pushtech.min.js"></script>
<script>pushtech.init(Object.assign({ endpoint: ${JSON.stringify(endpoint)}, writeKey: ${JSON.stringify(WRITE_KEY)} },
  JSON.parse(decodeURIComponent(location.hash.slice(1)) || '{}')));</script>`;
  const server = http.createServer((req, res) => {
    const js = req.url === '/pushtech.min.js';
    res.writeHead(200, { 'Content-Type': js ? 'text/javascript' : 'text/html', 'Cache-Control': 'no-store' });
    res.end(js ? script : html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface PageStats {
  queued: number;
  sent: number;
  dropped: number;
  retries: number;
}

const track = (page: Page, type: string, count: number): Promise<string[]> =>
  page.evaluate(
    ([type, count]) => Array.from({ length: count }, (_, i) => window.pushtech.track(type, { i, page: location.hash })),
    [type, count] as const,
  );
const stats = (page: Page): Promise<PageStats> => page.evaluate(() => window.pushtech.stats());
const storedIds = (page: Page): Promise<string[]> =>
  page.evaluate(() => (JSON.parse(localStorage.getItem('pushtech:queue') ?? '[]') as [string][]).map((e) => e[0]));

declare global {
  interface Window {
    pushtech: {
      track(type: string, params?: Record<string, string | number>): string;
      flush(): Promise<boolean>;
      stats(): PageStats;
    };
  }
}

const sessions = new WeakMap<Page, CDPSession>();

/**
 * DevTools protocol network emulation: offline, or back to no throttling. One session per page:
 * the emulation of each session applies, so a second one could not lift the first one's.
 */
async function setOffline(context: BrowserContext, page: Page, offline: boolean): Promise<void> {
  let cdp = sessions.get(page);
  if (!cdp) {
    cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    sessions.set(page, cdp);
  }
  await cdp.send('Network.emulateNetworkConditions', {
    offline,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
  await page.waitForFunction((want) => navigator.onLine === want, !offline);
}

describe('the browser build in headless Chromium', () => {
  it('every id reaches Kafka, each once after dedup: offline and back, reload, close, a new page', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-sdk-browser-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const [bundles, pipeline] = await Promise.all([
      buildBundles(dir),
      startPipeline(t, { TRACKER_WRITE_KEYS: WRITE_KEY }),
    ]);
    const origin = await pageServer(t, readFileSync(bundles.iife, 'utf8'), pipeline.endpoint);
    const browser = await launchBrowser(t);
    const context = await browser.newContext();
    const minted: string[] = [];
    const open = async (options: object): Promise<Page> => {
      const page = await context.newPage();
      await page.goto(`${origin}/#${encodeURIComponent(JSON.stringify(options))}`);
      await page.waitForFunction(() => typeof window.pushtech === 'object');
      return page;
    };
    const quick = { flushIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 200 };
    const slow = { flushIntervalMs: 3_600_000 };

    // Online: a batch, sent on the interval, with the write key in a header (a CORS preflight).
    const page = await open(quick);
    minted.push(...(await track(page, 'online', 5)));
    await eventually('sent', async () => ((await stats(page)).sent === 5 ? true : undefined));

    // Offline: nothing goes, nothing is given up, everything is in localStorage.
    await setOffline(context, page, true);
    const offlineIds = await track(page, 'offline', 5);
    minted.push(...offlineIds);
    assert.equal(await page.evaluate(() => window.pushtech.flush()), false);
    assert.deepEqual(await storedIds(page), offlineIds);
    assert.deepEqual(await stats(page), { queued: 5, sent: 5, dropped: 0, retries: 0 });

    // Back online: the 'online' event sends the queue.
    await setOffline(context, page, false);
    await eventually('sent after coming back', async () => ((await stats(page)).sent === 10 ? true : undefined));
    assert.deepEqual(await storedIds(page), []);

    // A reload with events waiting for the interval: they leave by beacon (write_key param).
    // (Another path: a new hash alone would not load the page again.)
    await page.goto(`${origin}/slow#${encodeURIComponent(JSON.stringify(slow))}`);
    minted.push(...(await track(page, 'before_reload', 5)));
    assert.equal((await stats(page)).queued, 5);
    await page.reload();
    await page.waitForFunction(() => typeof window.pushtech === 'object');
    assert.deepEqual(await storedIds(page), [], 'the beacon took them; nothing is left to send again');

    // A page closed while waiting: beacon on pagehide.
    minted.push(...(await track(page, 'before_close', 5)));
    await page.close({ runBeforeUnload: true });

    // A page closed while offline keeps its events; the next page of the site sends them.
    const offlinePage = await open(quick);
    await setOffline(context, offlinePage, true);
    const kept = await track(offlinePage, 'closed_offline', 5);
    minted.push(...kept);
    await offlinePage.close({ runBeforeUnload: true });
    const next = await open(quick);
    await eventually('the stored events sent by the next page', async () =>
      (await stats(next)).sent === 5 ? true : undefined,
    );

    // Negative control: a profile of its own whose tracker is a port nothing listens on, so no
    // request of it (fetch or beacon) gets anywhere; closed and never opened again. (A route that
    // aborts requests is not enough: a beacon sent on close got past it in one CI run.)
    const lostContext = await browser.newContext();
    const lostPage = await lostContext.newPage();
    const nowhere = { ...quick, endpoint: `http://127.0.0.1:${await freePort()}` };
    await lostPage.goto(`${origin}/#${encodeURIComponent(JSON.stringify(nowhere))}`);
    const lost = await track(lostPage, 'lost', 3);
    await eventually('the control page failed to send', async () =>
      (await stats(lostPage)).retries > 0 ? true : undefined,
    );
    await lostPage.close({ runBeforeUnload: true });
    await lostContext.close();

    const messages = await readUntil(t, pipeline.topic, minted);
    const result = await audit(t, [...minted, ...lost], messages);
    console.log(
      `${minted.length} ids minted in the page, ${messages.length} messages in Kafka (${result.duplicates} duplicates), ` +
        `${[...result.counted.values()].reduce((a, b) => a + b, 0)} counted after dedup; control: ${result.missing.length} missing`,
    );
    assert.deepEqual(result.missing, lost, 'only the control ids are missing, and the audit sees them');
    assert.deepEqual(result.unknown, []);
    assert.deepEqual(
      minted.filter((id) => result.counted.get(id) !== 1),
      [],
      'each id counted exactly once after dedup',
    );
    for (const m of messages) {
      assert.ok(m.params.get('i') !== undefined, 'the params arrive');
      assert.equal(m.params.get('write_key'), undefined, 'the write key is never stored');
    }
    await eventually('the last page is idle', async () => ((await stats(next)).queued === 0 ? true : undefined));
  });
});
