import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeParams } from '@pushtech/event';
import { errorOf, request, startTestTracker } from './helpers.js';

describe('optional policies', () => {
  it('write keys: missing or wrong key is 401, a right key in the header or the query is stored without the key', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_WRITE_KEYS: 'k-one,k-two' });
    const missing = await request(tt.port, 'GET', '/t/a');
    assert.equal(missing.status, 401);
    assert.match(errorOf(missing).detail, /a write key is required/);
    const wrong = await request(tt.port, 'GET', '/t/a', { headers: { 'X-Write-Key': 'nope' } });
    assert.equal(wrong.status, 401);
    assert.match(errorOf(wrong).detail, /not valid/);
    assert.equal((await request(tt.port, 'GET', '/t/a?x=1', { headers: { 'X-Write-Key': 'k-two' } })).status, 204);
    assert.equal((await request(tt.port, 'GET', '/t/b?write_key=k-one&y=2')).status, 204);
    const batch = await request(tt.port, 'POST', '/t?write_key=k-one', { body: '[{"event":"c"}]' });
    assert.equal(batch.status, 200);
    assert.deepEqual(
      (await tt.stored()).map((h) => [h.type, h.params]),
      [
        ['a', 'x=1'],
        ['b', 'y=2'],
        ['c', ''],
      ],
    );
  });

  it('rate limit: a client over its burst gets 429 with Retry-After, nothing of it stored', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_RATE_LIMIT: '1', TRACKER_RATE_BURST: '3' });
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await request(tt.port, 'GET', `/t/a?i=${i}`)).status);
    assert.deepEqual(statuses, [204, 204, 204, 429, 429]);
    const limited = await request(tt.port, 'GET', '/t/a');
    assert.equal(limited.headers['retry-after'], '1');
    assert.match(errorOf(limited).detail, /too many events from 127\.0\.0\.1/);
    assert.equal((await tt.stored()).length, 3);
    const batch = await request(tt.port, 'POST', '/t', { body: '[{"event":"a"},{"event":"b"}]' });
    assert.equal(batch.status, 429, 'a batch costs one token per event');
  });

  it('event schemas: violations are 400 with the reason; conforming events are stored', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'schemas.json');
    writeFileSync(
      file,
      JSON.stringify({ events: { click: { required: ['deviceid'], allowed: { description: ['CLICK', 'VIEW'] } } } }),
    );
    const tt = await startTestTracker(t, { TRACKER_SCHEMAS: file });
    const bad = await request(tt.port, 'GET', '/t/click?deviceid=d&description=HOVER');
    assert.equal(bad.status, 400);
    assert.deepEqual(errorOf(bad), {
      error: 'schema violation',
      detail: 'event "click": param "description" must be one of CLICK, VIEW (got "HOVER")',
    });
    const missing = await request(tt.port, 'GET', '/t/click?description=VIEW');
    assert.equal(errorOf(missing).detail, 'event "click" requires the param "deviceid"');
    const batch = await request(tt.port, 'POST', '/t', {
      body: '[{"event":"click","params":{"deviceid":"d"}},{"event":"click"}]',
    });
    assert.equal(errorOf(batch).detail, 'item 1: event "click" requires the param "deviceid"');
    assert.equal((await request(tt.port, 'GET', '/t/click?deviceid=d&description=CLICK')).status, 204);
    assert.equal((await request(tt.port, 'GET', '/t/other')).status, 204);
    assert.deepEqual(
      (await tt.stored()).map((h) => h.type),
      ['click', 'other'],
    );
  });

  it('a schema file that cannot be used stops the start with its name', async (t) => {
    await assert.rejects(
      startTestTracker(t, { TRACKER_SCHEMAS: '/nonexistent/schemas.json' }),
      /TRACKER_SCHEMAS: cannot read \/nonexistent\/schemas\.json/,
    );
  });
});

describe('client IP', () => {
  it('takes X-Forwarded-For (and X-Real-IP when enabled) only from trusted proxies (IPv4 and IPv6)', async (t) => {
    const tt = await startTestTracker(t, {
      TRACKER_TRUSTED_PROXIES: '127.0.0.0/8,::1/128',
      TRACKER_TRUST_X_REAL_IP: 'true',
    });
    await request(tt.port, 'GET', '/t/a', { headers: { 'X-Forwarded-For': '198.51.100.7' } });
    await request(tt.port, 'GET', '/t/b', { headers: { 'X-Forwarded-For': '2001:DB8:0:0::42, 127.0.0.1' } });
    await request(tt.port, 'GET', '/t/c', { headers: { 'X-Real-IP': '203.0.113.5' } });
    await request(tt.port, 'GET', '/t/d');
    assert.deepEqual(
      (await tt.stored()).map((h) => h.ip),
      ['198.51.100.7', '2001:db8::42', '203.0.113.5', '127.0.0.1'],
    );
  });

  it('ignores spoofed headers from a peer that is not a trusted proxy', async (t) => {
    const tt = await startTestTracker(t, { TRACKER_TRUSTED_PROXIES: '10.0.0.0/8', TRACKER_TRUST_X_REAL_IP: 'true' });
    await request(tt.port, 'GET', '/t/a', {
      headers: { 'X-Forwarded-For': '198.51.100.7', 'X-Real-IP': '198.51.100.8' },
    });
    const none = await startTestTracker(t);
    await request(none.port, 'GET', '/t/a', { headers: { 'X-Forwarded-For': '198.51.100.7' } });
    assert.deepEqual(
      [...(await tt.stored()), ...(await none.stored())].map((h) => h.ip),
      ['127.0.0.1', '127.0.0.1'],
    );
  });

  it('never stores a write_key param, even when no write keys are configured', async (t) => {
    const tt = await startTestTracker(t);
    await request(tt.port, 'GET', '/t/a?write_key=not-configured&x=1');
    const [hit] = await tt.stored();
    assert.deepEqual(decodeParams(hit?.params ?? ''), [['x', '1']], 'a write_key param is never stored');
  });
});
