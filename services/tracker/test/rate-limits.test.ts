import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketKey, createRateLimiter } from '../src/rate-limit.js';
import { errorOf, request, startTestTracker } from './helpers.js';
import { rawExchange } from './raw-http.js';

const T0 = 1_000_000;
const hex = (n: number): string => n.toString(16);
const batchOf = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => ({ event: `e${i}` })));

describe('rate limit buckets', () => {
  it('an IPv4 address is a bucket; an IPv6 address is keyed by its /64', () => {
    const table: [string, string, boolean][] = [
      ['198.51.100.7', '198.51.100.8', false],
      ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', true],
      ['2001:db8:1:2::1', '2001:db8:1:3::1', false],
      ['::1', '::2', true],
      ['::1', '0:0:0:1::1', false],
      ['2001:db8::1', '198.51.100.7', false],
    ];
    for (const [a, b, same] of table) assert.equal(bucketKey(a) === bucketKey(b), same, `${a} ${b}`);
  });

  it('a million addresses of one IPv6 /64 share one burst and one bucket', () => {
    // Before: each address was its own client, each admitted a full burst (226 MiB of buckets).
    const limiter = createRateLimiter(1, 10);
    let admitted = 0;
    for (let i = 0; i < 1_000_000; i += 1) {
      if (limiter.take(`2001:db8:7:9:${hex(i >>> 16)}:${hex(i & 0xffff)}:1:2`, 1, T0) === 0) admitted += 1;
    }
    assert.equal(admitted, 10);
    assert.equal(limiter.size, 1);
    limiter.close();
  });

  it('the buckets stay bounded while clients rotate addresses, and a flooder keeps its empty bucket', () => {
    const limiter = createRateLimiter(1, 10, 1_000);
    for (let i = 0; i < 10; i += 1) limiter.take('203.0.113.66', 1, T0);
    let flooderAdmitted = 0;
    for (let i = 0; i < 20_000; i += 1) {
      limiter.take(`2001:db8:${hex(i >>> 16)}:${hex(i & 0xffff)}::1`, 1, T0);
      assert.ok(limiter.size <= 1_000, `${limiter.size} buckets after ${i + 1} new clients`);
      if (i % 10 === 0 && limiter.take('203.0.113.66', 1, T0) === 0) flooderAdmitted += 1;
    }
    assert.equal(flooderAdmitted, 0, 'the flooder is used recently, so its bucket is never the one dropped');
    limiter.close();
  });

  it('a refusal says when the bucket holds the tokens, and more than the burst never fits', () => {
    const limiter = createRateLimiter(2, 100);
    assert.equal(limiter.take('198.51.100.7', 90, T0), 0);
    const table: [number, number][] = [
      [10, 0], // 10 left
      [11, 1], // 1 missing at 2/s
      [50, 20], // 40 missing
      [100, 45], // 90 missing
      [101, Number.POSITIVE_INFINITY],
    ];
    for (const [cost, wait] of table) assert.equal(limiter.peek('198.51.100.7', cost, T0), wait, `cost ${cost}`);
    limiter.close();
  });
});

describe('rate limits and write keys through a real tracker', () => {
  it('a batch of more events than the burst gets 413 naming the burst, not an endless 429', async (t) => {
    // Before: 429 with Retry-After: 1 forever, though no wait could ever let it through.
    const tt = await startTestTracker(t, { TRACKER_RATE_LIMIT: '1', TRACKER_RATE_BURST: '3' });
    const over = await request(tt.port, 'POST', '/t', { body: batchOf(4) });
    assert.equal(over.status, 413);
    assert.match(errorOf(over).detail, /4 events in one request; .* at most 3 at once/);
    assert.equal((await request(tt.port, 'POST', '/t', { body: batchOf(3) })).status, 200, 'the burst itself fits');
    assert.equal((await tt.stored()).length, 3);
  });

  it('IPv6 clients of one /64 share a bucket; IPv4 clients have one each', async (t) => {
    // Before: every IPv6 address had its own bucket, so one host had a burst per address.
    const tt = await startTestTracker(t, {
      TRACKER_RATE_LIMIT: '1',
      TRACKER_RATE_BURST: '3',
      TRACKER_TRUSTED_PROXIES: '127.0.0.0/8',
    });
    const from = async (ip: string): Promise<number> =>
      (await request(tt.port, 'GET', '/t/a', { headers: { 'X-Forwarded-For': ip } })).status;
    // One token a second: the four requests must come within a second for the fourth to find
    // the bucket empty. On a loaded machine they may not; then the run proves nothing and is
    // tried again from a fresh /64, up to 10 times.
    let statuses: number[] = [];
    let prefix = '';
    for (let attempt = 0; attempt < 10; attempt += 1) {
      prefix = `2001:db8:1:${(0x100 + attempt).toString(16)}`;
      const started = Date.now();
      statuses = [];
      for (const host of ['::1', '::2', ':aaaa::3', '::4']) statuses.push(await from(`${prefix}${host}`));
      if (Date.now() - started < 900) break;
    }
    assert.deepEqual(statuses, [204, 204, 204, 429]);
    assert.equal(await from(`${prefix.slice(0, -1)}f::1`), 204, 'the next /64 is another client');
    const v4: number[] = [];
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']) v4.push(await from(ip));
    assert.deepEqual(v4, [204, 204, 204, 204]);
  });

  it('a wrong write key is refused before the body is read (the 401 comes though the body is never sent)', async (t) => {
    // Before: the key was checked only after the whole body (up to 1 MiB) was buffered.
    const tt = await startTestTracker(t, { TRACKER_WRITE_KEYS: 'k-one' });
    const post = (target: string, headers: readonly string[], length = 500_000): string[] => [
      `POST ${target} HTTP/1.1`,
      'Host: t.example',
      'Content-Type: application/json',
      `Content-Length: ${length}`,
      ...headers,
    ];
    const table: [string, string[], string][] = [
      ['wrong header key, single event', post('/t/a', ['X-Write-Key: wrong']), 'not valid'],
      ['wrong header key, batch', post('/t', ['X-Write-Key: wrong']), 'not valid'],
      ['wrong query key, batch', post('/t?write_key=wrong', []), 'not valid'],
      ['no key at all, single event', post('/t/a', []), 'is required'],
    ];
    for (const [name, head, reason] of table) {
      const answer = await rawExchange(tt.port, head);
      assert.equal(answer?.status, 401, name);
      assert.equal(answer.beforeBody, true, name);
      assert.match(answer.body, new RegExp(reason), name);
    }
    const body = '{"a":"1"}';
    const control = await rawExchange(tt.port, post('/t/a', ['X-Write-Key: k-one'], body.length), {
      text: body,
      afterMs: 300,
    });
    assert.equal(control?.status, 204);
    assert.equal(control.beforeBody, false, 'with the right key the tracker waits for the body');
    assert.deepEqual(
      (await tt.stored()).map((h) => h.params),
      ['a=1'],
    );
  });

  it('a client out of tokens is refused before its body is read, with Retry-After from its bucket', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_RATE_LIMIT: '1', TRACKER_RATE_BURST: '100' });
    assert.equal((await request(tt.port, 'POST', '/t', { body: batchOf(60) })).status, 200);
    const short = await request(tt.port, 'POST', '/t', { body: batchOf(60) });
    assert.equal(short.status, 429, '40 tokens left for 60 events');
    const wait = Number(short.headers['retry-after']);
    // 20 tokens missing at 1/s; was a constant 1 before.
    assert.ok(wait > 1 && wait <= 20, `Retry-After ${wait}`);
    assert.equal((await request(tt.port, 'POST', '/t', { body: batchOf(40) })).status, 200);
    const head = ['POST /t/a HTTP/1.1', 'Host: t.example', 'Content-Length: 500000'];
    const answer = await rawExchange(tt.port, head);
    assert.equal(answer?.status, 429, 'the bucket is empty: no need to read the body');
    assert.equal(answer.beforeBody, true);
    assert.equal(answer.headers.get('retry-after'), '1');
    assert.equal((await tt.stored()).length, 100);
  });
});
