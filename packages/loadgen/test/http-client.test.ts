import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { LeanHttpClient, LeanRequestError } from '../src/http-client.js';

type After = { after(fn: () => unknown): void };

/** What a raw server writes: bytes, or an end of its connection (a FIN, or an RST). */
type Piece = string | { readonly end: 'close' | 'reset' };
const CLOSE: Piece = { end: 'close' };
const RESET: Piece = { end: 'reset' };

/**
 * A server that answers each request (a head ending in a blank line, any body ignored) with
 * the bytes `answer` gives for it, written in the pieces given, one loop turn apart.
 */
async function rawServer(
  t: After,
  answer: (index: number, request: string) => Piece[],
): Promise<{ port: number; connections: () => number; requests: string[] }> {
  const requests: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        const length = /content-length: (\d+)/i.exec(head);
        const total = end + 4 + Number(length?.[1] ?? 0);
        if (buffered.length < total) return;
        const request = buffered.slice(0, total);
        buffered = buffered.slice(total);
        requests.push(request);
        void (async () => {
          for (const piece of answer(requests.length - 1, request)) {
            if (typeof piece === 'string') socket.write(piece);
            else if (piece.end === 'close') socket.end();
            else socket.resetAndDestroy();
            await new Promise((r) => setImmediate(r));
          }
        })();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, connections: () => connections, requests };
}

const GET = { method: 'GET', path: '/t/x?a=1', headers: { 'User-Agent': 'ua' } } as const;

function client(t: After, port: number, connections = 1, idleMs = 5_000, answerMs = 30_000): LeanHttpClient {
  const c = new LeanHttpClient(new URL(`http://127.0.0.1:${port}`), connections, idleMs, answerMs);
  t.after(() => c.close());
  return c;
}

// A client that misreads an answer waits for bytes that never come: a bound turns that into a failure.
describe('LeanHttpClient', { timeout: 30_000 }, () => {
  it('sends the request as written and reuses one keep-alive connection', async (t) => {
    const server = await rawServer(t, () => ['HTTP/1.1 204 No Content\r\n\r\n']);
    const c = client(t, server.port);
    for (let i = 0; i < 5; i += 1) assert.deepEqual(await c.request(GET), { status: 204 });
    assert.equal(server.connections(), 1);
    assert.equal(
      server.requests[0],
      `GET /t/x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUser-Agent: ua\r\n\r\n`,
    );
    const post = await c.request({
      method: 'POST',
      path: '/t',
      headers: { 'Content-Type': 'application/json' },
      body: '[{"é":1}]',
    });
    assert.equal(post.status, 204);
    // The length counts bytes: é is two in UTF-8.
    const utf8 = Buffer.from(server.requests[5] ?? '', 'latin1').toString('utf8');
    assert.match(utf8, /Content-Length: 10\r\n\r\n\[\{"é":1\}\]$/);
  });

  it('skips bodies by length and chunks, with heads and bodies split across reads', async (t) => {
    const answers = [
      ['HTTP/1.1 200 OK\r\nContent-', 'Length: 5\r\n\r', '\nhe', 'llo'],
      [
        'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n',
        '3\r\nabc\r\n',
        'a\r\n0123456789\r\n0\r',
        '\n\r\n',
      ],
      ['HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n'],
      ['HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno'],
    ];
    const server = await rawServer(t, (i) => answers[i] ?? []);
    const c = client(t, server.port);
    const statuses: number[] = [];
    for (let i = 0; i < answers.length; i += 1) statuses.push((await c.request(GET)).status);
    assert.deepEqual(statuses, [200, 503, 401, 400]);
    assert.equal(server.connections(), 1, 'every body was read to its end, so the connection stayed usable');
  });

  it('an answer with no length ends with its connection; Connection: close is honoured', async (t) => {
    const server = await rawServer(t, (i) =>
      i === 0
        ? ['HTTP/1.1 200 OK\r\n\r\nuntil the end', CLOSE]
        : ['HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'],
    );
    const c = client(t, server.port);
    assert.equal((await c.request(GET)).status, 200);
    assert.equal((await c.request(GET)).status, 204);
    assert.equal((await c.request(GET)).status, 204);
    assert.equal(server.connections(), 3);
  });

  it('at most `connections` sockets: further requests wait for one', async (t) => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let seen = 0;
    const server = createServer((_req, res) => {
      seen += 1;
      void gate.then(() => res.writeHead(204).end());
    });
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise((r) => server.close(r)));
    const c = client(t, (server.address() as AddressInfo).port, 3);
    const answers = Array.from({ length: 10 }, () => c.request(GET));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(seen, 3, 'three requests reached the server, the rest wait for a socket');
    release();
    assert.deepEqual(
      (await Promise.all(answers)).map((a) => a.status),
      Array.from({ length: 10 }, () => 204),
    );
    assert.equal(sockets.size, 3);
  });

  it('fails a request with the cause: refused, reset, closed before an answer, bad answer', async (t) => {
    const nowhere = client(t, 1);
    await assert.rejects(
      nowhere.request(GET),
      (e: unknown) => e instanceof LeanRequestError && e.code === 'ECONNREFUSED',
    );

    const server = await rawServer(
      t,
      (i) =>
        [
          ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', RESET],
          [CLOSE],
          ['SSH-2.0-OpenSSH\r\n\r\n'],
          ['HTTP/1.1 204 No Content\r\n\r\n'],
        ][i] ?? [],
    );
    const c = client(t, server.port);
    await assert.rejects(c.request(GET), { code: 'ECONNRESET' });
    await assert.rejects(c.request(GET), { code: 'ECONNRESET', message: 'socket hang up' });
    await assert.rejects(c.request(GET), { code: 'ERR_BAD_ANSWER' });
    assert.equal((await c.request(GET)).status, 204, 'a new connection after each failure');
    assert.equal(server.connections(), 4);
  });

  it('closes an idle connection after idleMs, and opens a new one when asked again', async (t) => {
    const server = await rawServer(t, () => ['HTTP/1.1 204 No Content\r\n\r\n']);
    const c = client(t, server.port, 1, 100);
    assert.equal((await c.request(GET)).status, 204);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await c.request(GET)).status, 204);
    assert.equal(server.connections(), 2);
  });

  it('a request made as an idle connection is being closed goes to a live one', async (t) => {
    // The idle timer closes the socket, and in the same turn of the loop, before the socket's
    // 'close' event, another timer makes a request: it must not be handed the closing socket.
    const server = await rawServer(t, () => ['HTTP/1.1 204 No Content\r\n\r\n']);
    const c = client(t, server.port, 2, 30);
    for (let round = 0; round < 5; round += 1) {
      assert.equal((await c.request(GET)).status, 204);
      const next = await new Promise<{ status: number }>((resolve, reject) =>
        setTimeout(() => void c.request(GET).then(resolve, reject), 30),
      );
      assert.equal(next.status, 204, `round ${round}`);
    }
  });

  it('fails a request whose answer does not come within answerMs, on a new connection after it', async (t) => {
    // The first request's answer never comes; the second's head comes, its body does not.
    const server = await rawServer(t, (i) =>
      i === 0 ? [] : i === 1 ? ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n'] : ['HTTP/1.1 204 No Content\r\n\r\n'],
    );
    const c = client(t, server.port, 1, 5_000, 300);
    await assert.rejects(c.request(GET), { code: 'ETIMEDOUT', message: 'no answer within 300 ms' });
    await assert.rejects(c.request(GET), { code: 'ETIMEDOUT' }, 'a body that stops coming times out too');
    assert.equal((await c.request(GET)).status, 204);
    assert.equal(server.connections(), 3, 'a timed-out connection is not reused');
  });

  it('after close, requests are refused and waiting ones fail', async (t) => {
    const server = await rawServer(t, () => []);
    const c = client(t, server.port);
    const first = c.request(GET);
    const waiting = c.request(GET);
    c.close();
    await assert.rejects(waiting, { code: 'ERR_CLIENT_CLOSED' });
    await assert.rejects(c.request(GET), { code: 'ERR_CLIENT_CLOSED' });
    void first.catch(() => undefined);
  });
});
