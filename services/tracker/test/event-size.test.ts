import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorOf, request, startTestTracker } from './helpers.js';

/** A JSON body of about `bytes` bytes: one string param of "é" (two bytes, six once percent-encoded). */
function accentedBody(bytes: number): string {
  return JSON.stringify({ v: 'é'.repeat(Math.floor(bytes / 2)) });
}

describe('one event size limit at the edge', () => {
  it('a 340 KB JSON body of "é" gets 413 and nothing is stored (it was acknowledged, then dead-lettered cut short)', async (t) => {
    const tt = await startTestTracker(t);
    const body = accentedBody(340_000);
    assert.ok(Buffer.byteLength(body) < 1_000_000, 'under the limit as received');
    const res = await request(tt.port, 'POST', '/t/big', { headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(res.status, 413, res.text);
    const { error, detail } = errorOf(res);
    assert.equal(error, 'event too large');
    assert.match(detail, /at most 1000000 are allowed/);
    assert.deepEqual(await tt.stored(), []);

    // The same size in ASCII stays well under the limit once encoded: measured as encoded.
    const ascii = JSON.stringify({ v: 'e'.repeat(340_000) });
    const fits = await request(tt.port, 'POST', '/t/big', {
      headers: { 'Content-Type': 'application/json' },
      body: ascii,
    });
    assert.equal(fits.status, 204, fits.text);
    assert.equal((await tt.stored()).length, 1);
  });

  it('a batch with one oversized event gets 413 naming its index, and none of the batch is stored', async (t) => {
    const tt = await startTestTracker(t);
    const batch = JSON.stringify([
      { event: 'small', params: { a: '1' } },
      { event: 'big', params: { v: 'é'.repeat(170_000) } },
      { event: 'small', params: { a: '2' } },
    ]);
    const res = await request(tt.port, 'POST', '/t', { headers: { 'Content-Type': 'application/json' }, body: batch });
    assert.equal(res.status, 413, res.text);
    assert.match(errorOf(res).detail, /^item 1: /);
    assert.deepEqual(await tt.stored(), []);
  });

  it('follows EVENT_MAX_MESSAGE_BYTES, for a form body too', async (t) => {
    const tt = await startTestTracker(t, { EVENT_MAX_MESSAGE_BYTES: '20000' });
    const post = (body: string): ReturnType<typeof request> =>
      request(tt.port, 'POST', '/t/form', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    assert.equal((await post(`v=${'%C3%A9'.repeat(1_000)}`)).status, 204);
    const res = await post(`v=${'%C3%A9'.repeat(3_000)}`);
    assert.equal(res.status, 413, res.text);
    assert.match(errorOf(res).detail, /at most 20000 are allowed/);
    assert.equal((await tt.stored()).length, 1);
  });
});
