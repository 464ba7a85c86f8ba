// Issue 22: the id minted on the device (`_id`) becomes the event's id, its created and sent
// times (`_ct`, `_st`) travel with it, and a malformed one is refused with a reason naming the
// param (and the batch item), storing nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createEventIdGenerator, isEventId } from '@pushtech/event';
import { errorOf, request, startTestTracker } from './helpers.js';

const deviceIds = createEventIdGenerator();
const json = { 'Content-Type': 'application/json' };

describe('client ids and device times', () => {
  it('a pixel with _id, _ct and _st stores the client id and the times, without the reserved params', async (t) => {
    const tt = await startTestTracker(t);
    const id = deviceIds();
    const created = Date.now() - 90_000;
    const res = await request(
      tt.port,
      'GET',
      `/t/app_open?deviceid=abc&_id=${id}&_ct=${created}&_st=${created + 30_000}`,
    );
    assert.equal(res.status, 204, res.text);
    const [hit, ...rest] = await tt.stored();
    assert.equal(rest.length, 0);
    assert.equal(hit?.id, id);
    assert.equal(hit?.idSource, 'client');
    assert.equal(hit?.createdAt, created);
    assert.equal(hit?.sentAt, created + 30_000);
    assert.equal(hit?.params, 'deviceid=abc');
  });

  it('without _id the tracker mints the id, as before, and the hit is version 1', async (t) => {
    const tt = await startTestTracker(t);
    assert.equal((await request(tt.port, 'GET', '/t/app_open?deviceid=abc&x_id=1&id=2')).status, 204);
    const [entry] = await tt.redis.client.lrange(tt.queueKey, 0, -1);
    assert.match(entry ?? '', /^\[1,/);
    const [hit] = await tt.stored();
    assert.ok(hit && isEventId(hit.id));
    assert.equal(hit.idSource, undefined);
    assert.equal(hit.params, 'deviceid=abc&x_id=1&id=2', 'only the exact reserved names are taken');
  });

  it('a batch carries each item its own id; the same time for all of one request', async (t) => {
    const tt = await startTestTracker(t);
    const sent = Date.now();
    const items = [0, 1, 2].map((i) => ({
      event: 'click',
      params: { n: i, _id: deviceIds(), _ct: sent - 1000 * (3 - i), _st: sent },
    }));
    const res = await request(tt.port, 'POST', '/t', { headers: json, body: JSON.stringify(items) });
    assert.equal(res.status, 200, res.text);
    const stored = await tt.stored();
    assert.deepEqual(
      stored.map((h) => [h.id, h.idSource, h.createdAt, h.sentAt, h.params]),
      items.map((i) => [i.params._id, 'client', i.params._ct, sent, `n=${i.params.n}`]),
    );
  });

  it('POST /t/<event> takes them from the body or the query, and a retry carries the same id', async (t) => {
    const tt = await startTestTracker(t);
    const id = deviceIds();
    const body = JSON.stringify({ deviceid: 'abc', _id: id, _ct: 1000, _st: 2000 });
    for (let attempt = 0; attempt < 2; attempt++) {
      assert.equal((await request(tt.port, 'POST', '/t/purchase', { headers: json, body })).status, 204);
    }
    const form = await request(tt.port, 'POST', `/t/purchase?_id=${id}`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: '_ct=1000&_st=2000&deviceid=abc',
    });
    assert.equal(form.status, 204, form.text);
    const stored = await tt.stored();
    assert.deepEqual(
      stored.map((h) => h.id),
      [id, id, id],
    );
    assert.ok(stored.every((h) => h.params === 'deviceid=abc' && h.createdAt === 1000 && h.sentAt === 2000));
  });

  const refused: ReadonlyArray<readonly [string, string, string, RegExp]> = [
    ['a lowercase _id', '_id=01kaqq1pg0zx8m4n7r2t5v9bqh', 'invalid client id', /^_id must be a ULID/],
    ['an empty _id', '_id=', 'invalid client id', /^_id must be a ULID .*got ""/],
    ['a UUID as _id', '_id=0b5e2f2c-6b1f-4a44-9a4e-5f8f7c1e9d01', 'invalid client id', /^_id must be a ULID/],
    [
      'an _id centuries ahead',
      '_id=7ZZZZZZZZZZZZZZZZZZZZZZZZZ',
      'invalid client id',
      /days ahead of the tracker's clock/,
    ],
    ['_id twice', `_id=${deviceIds()}&_id=${deviceIds()}`, 'invalid client field', /^_id is given more than once/],
    ['_ct without _st', '_ct=5', 'invalid device time', /^_ct came without _st/],
    ['_st without _ct', '_st=5', 'invalid device time', /^_st came without _ct/],
    ['a fractional _ct', '_ct=1.5&_st=2', 'invalid device time', /^_ct must be ms since the epoch .*"1.5"/],
    ['a negative _st', '_ct=1&_st=-2', 'invalid device time', /^_st must be ms since the epoch/],
    ['a _ct past 48 bits', `_ct=${2 ** 48}&_st=1`, 'invalid device time', /^_ct must be ms/],
  ];
  for (const [what, query, error, detail] of refused) {
    it(`refuses ${what} with 400 naming the param, and stores nothing`, async (t) => {
      const tt = await startTestTracker(t);
      const res = await request(tt.port, 'GET', `/t/app_open?deviceid=abc&${query}`);
      assert.equal(res.status, 400);
      assert.equal(errorOf(res).error, error);
      assert.match(errorOf(res).detail, detail);
      assert.deepEqual(await tt.stored(), []);
    });
  }

  it('a batch with one malformed item is refused as a whole, naming the item', async (t) => {
    const tt = await startTestTracker(t);
    const items = [
      { event: 'a', params: { _id: deviceIds() } },
      { event: 'b', params: { _id: deviceIds(), _ct: 1, _st: 2 } },
      { event: 'c', params: { _id: 'not-a-ulid' } },
    ];
    const res = await request(tt.port, 'POST', '/t', { headers: json, body: JSON.stringify(items) });
    assert.equal(res.status, 400);
    assert.deepEqual(errorOf(res), {
      error: 'invalid client id',
      detail: 'item 2: _id must be a ULID (26 characters of Crockford base32, uppercase), got "not-a-ulid"',
    });
    const ndjson = `${JSON.stringify(items[0])}\n${JSON.stringify({ event: 'd', params: { _ct: 1 } })}\n`;
    const second = await request(tt.port, 'POST', '/t', { headers: json, body: ndjson });
    assert.equal(second.status, 400);
    assert.match(errorOf(second).detail, /^item 1: _ct came without _st/);
    assert.deepEqual(await tt.stored(), []);
  });

  it('the event schemas see the params without the reserved ones', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'schemas.json');
    // Had the schema seen `_id`, no id would pass: it allows only "x".
    writeFileSync(file, JSON.stringify({ events: { a: { required: ['k'], allowed: { _id: ['x'] } } } }));
    const tt = await startTestTracker(t, { TRACKER_SCHEMAS: file });
    const res = await request(tt.port, 'GET', `/t/a?k=1&_id=${deviceIds()}`);
    assert.equal(res.status, 204, res.text);
    const missing = await request(tt.port, 'GET', `/t/a?_id=${deviceIds()}`);
    assert.equal(missing.status, 400, 'the schema does apply');
  });
});
