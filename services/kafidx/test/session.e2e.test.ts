/**
 * Sessions in a real headless Chromium: the page goes back to the login form when its session
 * ends, by logout or by expiry, and the old cookie opens nothing afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { TOKEN, startTestKafidx, type TestKafidx } from './helpers.js';
import { launchBrowser } from './browser.js';

async function logIn(page: Page, k: TestKafidx): Promise<void> {
  await page.goto(`${k.base}/login`);
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(`${k.base}/`), page.click('button[type=submit]')]);
  await page.locator('#connection[data-state=open]').waitFor({ timeout: 10_000 });
}

describe('sessions in the browser (headless Chromium)', () => {
  it('log out: back to the login form, and a copy of the cookie opens nothing', async (t) => {
    const k = await startTestKafidx(t);
    const browser = await launchBrowser(t);
    const context = await browser.newContext();
    const page = await context.newPage();
    await logIn(page, k);
    const [copied] = await context.cookies();
    assert.ok(copied);
    // A second tab of the same session: its socket is closed by the logout in the first.
    const other = await context.newPage();
    await other.goto(`${k.base}/`);
    await other.locator('#connection[data-state=open]').waitFor({ timeout: 10_000 });

    // Two navigations race to /login here: the form's redirect, and the page's own reaction to its
    // socket being closed by the logout. Waiting on the form outlives either.
    await page.click('#logout button[type=submit]');
    await page.locator('input[name=token]').waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/login');
    // The login form in the other tab (waiting on the form outlives the navigation to it).
    await other.locator('input[name=token]').waitFor({ timeout: 10_000 });
    assert.equal(new URL(other.url()).pathname, '/login');

    const thief = await browser.newContext();
    await thief.addCookies([copied]);
    const stolen = await thief.newPage();
    assert.equal((await stolen.goto(`${k.base}/`))?.status(), 401);
    await stolen.locator('input[name=token]').waitFor();
  });

  it('an expired session sends the open page to the login form', async (t) => {
    const k = await startTestKafidx(t, { KAFIDX_SESSION_TTL_SECONDS: '4' });
    const browser = await launchBrowser(t);
    const page = await browser.newPage();
    await logIn(page, k);
    await page.locator('input[name=token]').waitFor({ timeout: 20_000 });
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal((await page.goto(`${k.base}/`))?.status(), 401);
  });
});
