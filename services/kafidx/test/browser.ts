import { chromium, type Browser } from 'playwright-core';
import type { Cleanup } from '@pushtech/devstack/testing';

/** Debian's headless Chromium (driven by playwright-core), closed when the test ends. */
export async function launchBrowser(t: Cleanup): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}
