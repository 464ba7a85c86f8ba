import { chromium, type Browser } from 'playwright-core';
import { chromiumLaunchOptions, type Cleanup } from '@pushtech/devstack/testing';

/** Debian's headless Chromium (driven by playwright-core), closed when the test ends. */
export async function launchBrowser(t: Cleanup): Promise<Browser> {
  const browser = await chromium.launch(chromiumLaunchOptions());
  t.after(() => browser.close());
  return browser;
}
