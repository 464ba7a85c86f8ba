/**
 * What ships: the ESM and CommonJS builds load in Node with the API the issue names, the IIFE
 * defines `pushtech` on the global object of a page, and the browser build stays within 2.5 KB
 * minified and gzipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { before, describe, it } from 'node:test';
import type * as Sdk from '../src/index.js';
import { BROWSER_BUDGET_BYTES, buildBundles, gzippedBytes, type Bundles } from '../scripts/bundles.js';

const API = ['createClient', 'flush', 'init', 'shutdown', 'stats', 'track'];

describe('builds', () => {
  let bundles: Bundles;
  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-sdk-build-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    bundles = await buildBundles(dir);
  });

  it(`the browser build is at most ${BROWSER_BUDGET_BYTES} bytes minified and gzipped`, () => {
    const size = gzippedBytes(bundles.iife);
    console.log(`pushtech.min.js: ${size.minified} bytes minified, ${size.gzipped} gzipped`);
    assert.ok(size.gzipped <= BROWSER_BUDGET_BYTES, `${size.gzipped} bytes gzipped`);
  });

  it('ESM and CommonJS export init, track, flush, shutdown (and createClient, stats)', async () => {
    const esm = (await import(pathToFileURL(bundles.esm).href)) as Record<string, unknown>;
    const require = createRequire(import.meta.url);
    const cjs = require(bundles.cjs) as Record<string, unknown>;
    for (const mod of [esm, cjs]) {
      assert.deepEqual(
        API.filter((name) => typeof mod[name] === 'function'),
        API,
      );
    }
    const node = require(bundles.nodeCjs) as Record<string, unknown>;
    assert.equal(typeof node['fileStorage'], 'function');
    const nodeEsm = (await import(pathToFileURL(bundles.nodeEsm).href)) as Record<string, unknown>;
    assert.equal(typeof nodeEsm['fileStorage'], 'function');
  });

  it('the ESM build mints ids and sends nothing before init in Node', async () => {
    const esm = (await import(pathToFileURL(bundles.esm).href)) as typeof Sdk;
    const c = esm.createClient({ endpoint: 'http://127.0.0.1:9', storage: null, maxRetries: 0 });
    assert.match(c.track('e'), /^[0-9A-HJKMNP-TV-Z]{26}$/);
    await c.shutdown();
  });

  it('the IIFE defines window.pushtech with the API, and nothing else on the page', () => {
    const page: Record<string, unknown> = { crypto: globalThis.crypto, setTimeout, clearTimeout };
    const before = Object.keys(page);
    vm.runInNewContext(readFileSync(bundles.iife, 'utf8'), page);
    assert.deepEqual(Object.keys(page), [...before, 'pushtech']);
    const api = page['pushtech'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(api).sort(), ['flush', 'init', 'shutdown', 'stats', 'track']);
  });
});
