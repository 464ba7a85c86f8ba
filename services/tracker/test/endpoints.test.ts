import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeParams, eventIdTime, isEventId } from '@pushtech/event';
import { errorOf, request, startTestTracker } from './helpers.js';

describe('tracking endpoints store what they say they stored', () => {
  it('GET /t/<event> answers 204 and stores one raw hit with everything captured', async (t) => {
    const tt = await startTestTracker(t);
    const before = Date.now();
    const res = await request(tt.port, 'GET', '/t/app_open?deviceid=abcdf&ts=123456&referrer=website', {
      headers: { 'User-Agent': 'Mozilla/5.0 (iPhone)', Host: 't.example.com' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers['content-length'], undefined, 'no Content-Length on a 204');
    const [hit, ...rest] = await tt.stored();
    assert.equal(rest.length, 0);
    assert.ok(hit && isEventId(hit.id));
    assert.ok(hit.ts >= before && hit.ts <= Date.now());
    assert.ok(Math.abs(eventIdTime(hit.id) - hit.ts) < 1000, 'the id is time-ordered by receipt');
    assert.deepEqual(
      { ...hit, id: '', ts: 0 },
      {
        id: '',
        ts: 0,
        ip: '127.0.0.1',
        host: 't.example.com',
        pod: '10.1.2.3',
        type: 'app_open',
        params: 'deviceid=abcdf&ts=123456&referrer=website',
        ua: 'Mozilla/5.0 (iPhone)',
      },
    );
  });

  it('HEAD stores too, and the .gif form answers a transparent 1x1 GIF that is never cached', async (t) => {
    const tt = await startTestTracker(t);
    assert.equal((await request(tt.port, 'HEAD', '/t/ping')).status, 204);
    const gif = await request(tt.port, 'GET', '/t/email_open.gif?campaign=7');
    assert.equal(gif.status, 200);
    assert.equal(gif.headers['content-type'], 'image/gif');
    assert.match(String(gif.headers['cache-control']), /no-store/);
    assert.equal(gif.body.subarray(0, 6).toString('latin1'), 'GIF89a');
    assert.equal(gif.body.readUInt16LE(6), 1);
    assert.equal(gif.body.readUInt16LE(8), 1);
    assert.deepEqual(
      (await tt.stored()).map((h) => [h.type, h.params]),
      [
        ['ping', ''],
        ['email_open', 'campaign=7'],
      ],
    );
  });

  it('POST /t/<event> merges form, JSON and sendBeacon bodies with the query', async (t) => {
    const tt = await startTestTracker(t);
    const post = (type: string, body: string) =>
      request(tt.port, 'POST', '/t/purchase?src=q', { headers: { 'Content-Type': type }, body });
    assert.equal((await post('application/x-www-form-urlencoded', 'amount=9.5&item=a+b')).status, 204);
    assert.equal((await post('application/json', '{"amount":9.5,"vip":true}')).status, 204);
    assert.equal((await post('text/plain;charset=UTF-8', '{"beacon":"yes"}')).status, 204);
    assert.deepEqual(
      (await tt.stored()).map((h) => decodeParams(h.params)),
      [
        [
          ['src', 'q'],
          ['amount', '9.5'],
          ['item', 'a b'],
        ],
        [
          ['src', 'q'],
          ['amount', '9.5'],
          ['vip', 'true'],
        ],
        [
          ['src', 'q'],
          ['beacon', 'yes'],
        ],
      ],
    );
  });

  it('POST /t stores a JSON or NDJSON batch together and answers how many', async (t) => {
    const tt = await startTestTracker(t);
    const array = await request(tt.port, 'POST', '/t', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([{ event: 'a', params: { n: 1 } }, { event: 'b', params: { n: 2 } }, { event: 'c' }]),
    });
    assert.equal(array.status, 200);
    assert.deepEqual(array.json(), { accepted: 3 });
    const ndjson = await request(tt.port, 'POST', '/t', {
      headers: { 'Content-Type': 'application/x-ndjson' },
      body: '{"event":"d"}\n{"event":"e","params":{"k":"v"}}\n',
    });
    assert.deepEqual(ndjson.json(), { accepted: 2 });
    const hits = await tt.stored();
    assert.deepEqual(
      hits.map((h) => [h.type, h.params]),
      [
        ['a', 'n=1'],
        ['b', 'n=2'],
        ['c', ''],
        ['d', ''],
        ['e', 'k=v'],
      ],
    );
    assert.equal(new Set(hits.map((h) => h.id)).size, 5, 'each event has its own id');
  });

  it('a batch with one bad item is refused whole, naming the item, and stores nothing', async (t) => {
    const tt = await startTestTracker(t);
    const res = await request(tt.port, 'POST', '/t', {
      body: JSON.stringify([{ event: 'ok' }, { event: 'ok' }, { event: 'x', params: { deep: { a: 1 } } }]),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(errorOf(res), {
      error: 'invalid batch',
      detail: 'item 2: params.deep must be a string, number or boolean, not an object',
    });
    const tooMany = await request(tt.port, 'POST', '/t', {
      body: JSON.stringify(Array.from({ length: 1001 }, () => ({ event: 'a' }))),
    });
    assert.equal(tooMany.status, 413);
    assert.deepEqual(await tt.stored(), []);
  });

  it('GET /r/<event> stores the click and redirects only to allowed hosts', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_REDIRECT_HOSTS: 'example.com,*.shop.example' });
    const ok = await request(
      tt.port,
      'GET',
      `/r/ad_click?to=${encodeURIComponent('https://www.shop.example/p?id=1')}&c=9`,
    );
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.location, 'https://www.shop.example/p?id=1');
    const evil = await request(tt.port, 'GET', `/r/ad_click?to=${encodeURIComponent('https://evil.example/')}`);
    assert.equal(evil.status, 400);
    assert.match(errorOf(evil).detail, /redirects to evil\.example are not allowed/);
    const missing = await request(tt.port, 'GET', '/r/ad_click');
    assert.equal(missing.status, 400);
    const hits = await tt.stored();
    assert.equal(hits.length, 1, 'refused redirects store nothing');
    assert.deepEqual(decodeParams(hits[0]?.params ?? ''), [
      ['to', 'https://www.shop.example/p?id=1'],
      ['c', '9'],
    ]);
  });

  it('answers CORS preflights, and refuses origins that are not allowed when a list is set', async (t) => {
    const any = await startTestTracker(t);
    const pre = await request(any.port, 'OPTIONS', '/t/x', {
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    const beacon = await request(any.port, 'POST', '/t/x', { headers: { Origin: 'https://app.example' }, body: '{}' });
    assert.equal(beacon.headers['access-control-allow-origin'], '*');
    // A script on another origin (the SDK) must be able to read Retry-After on a 503 or 429.
    assert.equal(beacon.headers['access-control-expose-headers'], 'Retry-After');

    const listed = await startTestTracker(t, { TRACKER_CORS_ORIGINS: 'https://app.example' });
    const allowed = await request(listed.port, 'GET', '/t/x', { headers: { Origin: 'https://app.example' } });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(allowed.headers['access-control-expose-headers'], 'Retry-After');
    const other = await request(listed.port, 'GET', '/t/x', { headers: { Origin: 'https://evil.example' } });
    assert.equal(other.status, 403);
    assert.equal((await listed.stored()).length, 1);
  });
});

describe('/metrics', () => {
  it('counts every answer by route and status, once, however often it is scraped', async (t) => {
    const tt = await startTestTracker(t);
    const count = async (route: string, status: number): Promise<number> => {
      const res = await request(tt.port, 'GET', '/metrics');
      const line = new RegExp(
        `^pushtech_tracker_requests_total\\{(?=[^}]*route="${route}")(?=[^}]*status="${status}")[^}]*\\} (\\d+)$`,
        'm',
      ).exec(res.text);
      return Number(line?.[1] ?? 0);
    };
    for (let i = 0; i < 7; i += 1) assert.equal((await request(tt.port, 'GET', `/t/e${i}`)).status, 204);
    assert.equal((await request(tt.port, 'GET', '/t/')).status, 400);
    assert.equal((await request(tt.port, 'GET', '/nowhere')).status, 404);
    assert.equal(await count('track', 204), 7);
    assert.equal(await count('track', 400), 1);
    assert.equal(await count('not_found', 404), 1);
    // A second scrape adds nothing that was not answered since; three more answers, three more.
    assert.equal(await count('track', 204), 7);
    for (let i = 0; i < 3; i += 1) await request(tt.port, 'GET', `/t/e${i}`);
    assert.equal(await count('track', 204), 10);
    // The scrapes themselves are answers on the ops route (the one in progress is not yet counted).
    assert.ok((await count('ops', 200)) >= 6);
  });
});

describe('bad input gets a one-line JSON error and stores nothing', () => {
  const cases: [string, string, string, Record<string, string>, string | undefined, number, RegExp][] = [
    ['empty event name', 'GET', '/t/', {}, undefined, 400, /empty/],
    ['over-long event name', 'GET', `/t/${'e'.repeat(129)}`, {}, undefined, 400, /129 bytes long/],
    ['control character', 'GET', '/t/a%00b', {}, undefined, 400, /control character U\+0000/],
    ['invalid UTF-8', 'GET', '/t/%C3%28', {}, undefined, 400, /not valid percent-encoded UTF-8/],
    ['percent garbage', 'GET', '/t/%%41', {}, undefined, 400, /not valid percent-encoded/],
    ['query over 8 KiB', 'GET', `/t/a?x=${'y'.repeat(8200)}`, {}, undefined, 414, /8192/],
    ['malformed JSON body', 'POST', '/t/a', { 'Content-Type': 'application/json' }, '{"a":', 400, /^body: /],
    ['malformed batch', 'POST', '/t', {}, '[{"event":"a"}', 400, /batch/],
    ['unsupported body type', 'POST', '/t/a', { 'Content-Type': 'image/png' }, 'x', 415, /image\/png is not accepted/],
    ['wrong method', 'PUT', '/t/a', {}, 'x', 405, /PUT is not supported/],
    ['wrong method on batch', 'GET', '/t', {}, undefined, 405, /POST a batch/],
    ['unknown path', 'GET', '/track/a', {}, undefined, 404, /no route for GET \/track\/a/],
    ['nested path', 'GET', '/t/a/b', {}, undefined, 404, /no route/],
  ];
  for (const [name, method, path, headers, body, status, detail] of cases) {
    it(`${name}: ${status}`, async (t) => {
      const tt = await startTestTracker(t);
      const res = await request(tt.port, method, path, { headers, ...(body === undefined ? {} : { body }) });
      assert.equal(res.status, status, res.text);
      assert.match(errorOf(res).detail, detail);
      assert.deepEqual(await tt.stored(), []);
      if (status === 405) assert.ok(res.headers.allow, 'a 405 says what is allowed');
    });
  }

  it('a body over 1 MiB gets 413', async (t) => {
    const tt = await startTestTracker(t);
    const res = await request(tt.port, 'POST', '/t/a', {
      headers: { 'Content-Type': 'text/plain' },
      body: 'a='.padEnd(1024 * 1024 + 10, 'x'),
    });
    assert.equal(res.status, 413);
    assert.deepEqual(await tt.stored(), []);
  });

  it('percent-encoding garbage in params is stored harmlessly, never as a broken record', async (t) => {
    const tt = await startTestTracker(t);
    const res = await request(tt.port, 'GET', '/t/ok?a=%ZZ&b=%FF%FE&c=%E2%82&d=%&e=1%2B1&f=sp%20ace');
    assert.equal(res.status, 204);
    const [hit] = await tt.stored();
    assert.ok(hit);
    assert.ok(!hit.params.includes(' '), 'no raw space in the stored params');
    const params = Object.fromEntries(decodeParams(hit.params));
    assert.equal(params['e'], '1+1');
    assert.equal(params['f'], 'sp ace');
    assert.equal(params['a'], '%ZZ');
    assert.equal(params['b'], '\uFFFD\uFFFD');
  });
});
