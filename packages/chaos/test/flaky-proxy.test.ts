import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFlakyProxy, type FlakyNetwork } from '../src/flaky-proxy.js';

/** A server that counts the requests it got and answers each with 200. */
let server: http.Server;
let port = 0;
let received = 0;
before(async () => {
  server = http.createServer((req, res) => {
    received += 1;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const none: FlakyNetwork = { dropShare: 0, resetShare: 0, delayShare: 0, delayMs: 0 };

/** One request on a connection of its own: the answer's text, or the error's code. */
function send(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(`${url}/t`, { method: 'POST', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end('[]');
  });
}

describe('the flaky proxy', () => {
  it('passes everything untouched when no fault is drawn', async (t) => {
    const proxy = await startFlakyProxy({ host: '127.0.0.1', port }, none, Math.random);
    t.after(() => proxy.close());
    assert.deepEqual(await Promise.all([send(proxy.url), send(proxy.url)]), ['ok', 'ok']);
    assert.equal(proxy.stats.connections, 2);
  });

  it('drops a connection before anything reaches the tracker', async (t) => {
    const proxy = await startFlakyProxy({ host: '127.0.0.1', port }, { ...none, dropShare: 1 }, Math.random);
    t.after(() => proxy.close());
    const before = received;
    assert.equal(await send(proxy.url), 'ECONNRESET');
    assert.equal(received, before, 'the tracker never saw it');
    assert.equal(proxy.stats.dropped, 1);
  });

  it('resets the connection after the request went through: the tracker got it, the client no answer', async (t) => {
    const proxy = await startFlakyProxy({ host: '127.0.0.1', port }, { ...none, resetShare: 1 }, Math.random);
    t.after(() => proxy.close());
    const before = received;
    assert.equal(await send(proxy.url), 'ECONNRESET');
    assert.equal(received, before + 1, 'the request was sent');
    assert.equal(proxy.stats.resetAfterSend, 1);
  });

  it('delays an answer, and passes everything once healed', async (t) => {
    const proxy = await startFlakyProxy(
      { host: '127.0.0.1', port },
      { dropShare: 0, resetShare: 0, delayShare: 1, delayMs: 300 },
      Math.random,
    );
    t.after(() => proxy.close());
    assert.equal(await send(proxy.url), 'ok');
    assert.equal(proxy.stats.delayed, 1);
    proxy.heal();
    assert.equal(await send(proxy.url), 'ok');
    assert.equal(proxy.stats.delayed, 1, 'healed: not delayed again');
  });
});
