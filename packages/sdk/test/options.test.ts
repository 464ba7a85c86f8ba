/** Bad options and bad calls fail at once, with an error naming what was wrong. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as pushtech from '../src/index.js';
import { createClient, type EventParams, type Options } from '../src/index.js';

const endpoint = 'http://127.0.0.1:9';

describe('options', () => {
  const refused: [string, Partial<Options>, RegExp][] = [
    ['no endpoint', { endpoint: undefined }, /endpoint must be an http\(s\) URL/],
    ['an endpoint that is no http URL', { endpoint: 'ftp://t.example.com' }, /endpoint/],
    ['an endpoint with a query', { endpoint: 'https://t.example.com/?a=1' }, /endpoint/],
    ['maxBatch 0', { maxBatch: 0 }, /maxBatch must be an integer from 1 to 1000/],
    ['maxBatch above the tracker limit', { maxBatch: 1001 }, /maxBatch/],
    ['maxQueue below maxBatch', { maxBatch: 10, maxQueue: 5 }, /maxQueue must be an integer from 10/],
    ['a fractional flushIntervalMs', { flushIntervalMs: 1.5 }, /flushIntervalMs/],
    ['negative maxRetries', { maxRetries: -1 }, /maxRetries/],
    ['retryMaxMs below retryBaseMs', { retryBaseMs: 500, retryMaxMs: 100 }, /retryMaxMs must be an integer from 500/],
    ['timeoutMs as a string', { timeoutMs: '10' as unknown as number }, /timeoutMs/],
    ['a storage without setItem', { storage: { getItem: () => null } as unknown as Options['storage'] }, /storage/],
    ['a write key that is no string', { writeKey: 42 as unknown as string }, /writeKey must be a string/],
  ];
  for (const [what, options, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => createClient({ endpoint, storage: null, ...options }), message);
    });
  }

  it('never prints the write key in an error', () => {
    const writeKey = 'wk-secret-7f3a';
    for (const options of [{ maxBatch: 0 }, { endpoint: `http://x/?k=${writeKey}` }]) {
      assert.throws(
        () => createClient({ endpoint, writeKey, storage: null, ...options }),
        (e: unknown) => e instanceof TypeError && !e.message.includes(writeKey),
      );
    }
  });

  it('accepts a base URL with a path and a trailing slash', async () => {
    const c = createClient({ endpoint: 'https://t.example.com/pushtech/', storage: null });
    await c.shutdown();
  });
});

describe('track', () => {
  const bad: [string, string, EventParams | undefined, RegExp][] = [
    ['an empty event type', '', undefined, /eventType must be a non-empty string/],
    ['params that are a string', 'e', 'x' as unknown as EventParams, /params must be an object/],
    ['a nested object', 'e', { a: 1, nested: {} as unknown as string }, /params\.nested must be a string/],
    ['an array', 'e', { list: [] as unknown as string }, /params\.list/],
    ['a function', 'e', { fn: (() => 1) as unknown as string }, /params\.fn/],
    ['a bigint', 'e', { big: 1n as unknown as number }, /params\.big/],
  ];
  for (const [what, type, params, message] of bad) {
    it(`refuses ${what}`, async () => {
      const c = createClient({ endpoint, storage: null });
      assert.throws(() => c.track(type, params), message);
      assert.equal(c.stats().queued, 0);
      await c.shutdown();
    });
  }

  it('takes null and undefined values (left out on the wire), and refuses after shutdown', async () => {
    const c = createClient({ endpoint, storage: null, maxRetries: 0 });
    c.track('e', { a: null, b: undefined, c: 0, d: false });
    await c.shutdown();
    assert.throws(() => c.track('e'), /shut down/);
  });
});

describe('the default client', () => {
  it('needs init first, refuses a second init, and starts again after shutdown', async () => {
    assert.throws(() => pushtech.track('e'), /pushtech\.track: call pushtech\.init first/);
    assert.throws(() => pushtech.stats(), /pushtech\.stats: call pushtech\.init first/);
    pushtech.init({ endpoint, storage: null, maxRetries: 0 });
    assert.throws(() => pushtech.init({ endpoint, storage: null }), /called twice/);
    assert.equal(pushtech.track('e').length, 26);
    assert.equal(pushtech.stats().queued, 1);
    await pushtech.shutdown();
    pushtech.init({ endpoint, storage: null });
    assert.equal(pushtech.stats().queued, 0);
    await pushtech.shutdown();
    assert.equal(await pushtech.shutdown(), true);
  });
});
