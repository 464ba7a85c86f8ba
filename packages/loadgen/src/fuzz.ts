import net from 'node:net';
import { seededRandom } from './traffic.js';

/**
 * Malformed traffic for the tracker, on raw sockets so nothing is normalised on the way:
 * random paths and percent-encodings, invalid UTF-8, huge and many headers, slow clients,
 * broken JSON batches, HTTP/1.0 and pipelined requests, odd methods.
 */
export interface FuzzCase {
  readonly kind: string;
  /** The bytes to send, in pieces; a delay (ms) between pieces makes a slow client. */
  readonly pieces: readonly Buffer[];
  readonly delayMs: number;
  /** How many responses the server owes (pipelining sends several requests at once). */
  readonly requests: number;
}

export interface FuzzAnswer {
  readonly kind: string;
  readonly status: number | undefined;
  readonly body: string;
  /** The server closed the connection without answering (its HTTP parser refused the bytes). */
  readonly closed: boolean;
}

// Code points, not UTF-16 units: indexing a string would split the emoji into lone surrogates.
const junkChars = Array.from('%&=+?#/\\ \t"\'<>{}[]|^`~!@$*();:,.-_0123456789abcdefXYZé€😀\u0000\u0001\u007f');

function junk(random: () => number, max: number): string {
  const n = Math.floor(random() * max);
  let s = '';
  for (let i = 0; i < n; i += 1) s += junkChars[Math.floor(random() * junkChars.length)];
  return s;
}

function percentSoup(random: () => number, max: number): string {
  const n = Math.floor(random() * max);
  let s = '';
  for (let i = 0; i < n; i += 1) {
    const r = random();
    if (r < 0.3)
      s += `%${Math.floor(random() * 256)
        .toString(16)
        .padStart(2, '0')
        .toUpperCase()}`;
    else if (r < 0.4) s += '%';
    else if (r < 0.5) s += `%${'GZ'[Math.floor(random() * 2)]}${Math.floor(random() * 10)}`;
    else s += 'abcXYZ019-_.~!*()+=&'[Math.floor(random() * 20)];
  }
  return s;
}

function request(method: string, path: string, headers: Record<string, string>, body = '', version = '1.1'): Buffer {
  const lines = [`${method} ${path} HTTP/${version}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== '' || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

const host = { Host: 'fuzz.example' };

export function fuzzCases(seed: number): Iterator<FuzzCase> {
  const random = seededRandom(seed);
  const kinds: (() => FuzzCase)[] = [
    () => ({
      kind: 'percent soup',
      pieces: [request('GET', `/t/${percentSoup(random, 40)}?${percentSoup(random, 80)}`, host)],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'invalid UTF-8',
      pieces: [request('GET', `/t/a%C3%28%FF${percentSoup(random, 5)}?x=%E2%82%28&y=%F0%9F`, host)],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'random path',
      pieces: [request('GET', `/${encodeURI(junk(random, 30)).replace(/%25/g, '%')}`, host)],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'raw bytes in path',
      pieces: [
        Buffer.concat([
          Buffer.from('GET /t/'),
          Buffer.from(Array.from({ length: 8 }, () => 0x80 + Math.floor(random() * 128))),
          Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
        ]),
      ],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'huge header',
      pieces: [request('GET', '/t/ok', { ...host, 'X-Big': 'a'.repeat(20_000 + Math.floor(random() * 60_000)) })],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'many headers',
      pieces: [
        request('GET', '/t/ok', {
          ...host,
          ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`X-H${i}`, 'v'])),
        }),
      ],
      delayMs: 0,
      requests: 1,
    }),
    () => {
      const whole = request('GET', `/t/slow?x=${Math.floor(random() * 1e6)}`, host);
      const pieces: Buffer[] = [];
      for (let i = 0; i < whole.length; i += 7) pieces.push(whole.subarray(i, i + 7));
      return { kind: 'slow client', pieces, delayMs: 5, requests: 1 };
    },
    () => ({
      kind: 'broken JSON batch',
      pieces: [
        request('POST', '/t', { ...host, 'Content-Type': 'application/json' }, `[{"event":"a"${junk(random, 20)}`),
      ],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'batch of junk names',
      pieces: [
        request(
          'POST',
          '/t',
          { ...host, 'Content-Type': 'application/json' },
          JSON.stringify(
            Array.from({ length: 5 }, () => ({ event: junk(random, 20), params: { k: junk(random, 30) } })),
          ),
        ),
      ],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'NDJSON junk',
      pieces: [request('POST', '/t', host, `{"event":"ok"}\n${junk(random, 40)}\n`)],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'junk JSON beacon',
      pieces: [
        request(
          'POST',
          `/t/${percentSoup(random, 10)}x`,
          { ...host, 'Content-Type': 'text/plain' },
          `{"a":${junk(random, 10)}}`,
        ),
      ],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'HTTP/1.0 without Host',
      pieces: [request('GET', `/t/old?${percentSoup(random, 20)}`, {}, '', '1.0')],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'pipelined',
      pieces: [
        Buffer.concat([
          request('GET', '/t/p1', host),
          request('GET', `/t/${percentSoup(random, 10)}p2`, host),
          request('HEAD', '/t/p3', host),
        ]),
      ],
      delayMs: 0,
      requests: 3,
    }),
    () => ({
      kind: 'odd method',
      pieces: [
        request(['PUT', 'DELETE', 'PATCH', 'TRACE', 'FOO'][Math.floor(random() * 5)] as string, '/t/x', host, 'b'),
      ],
      delayMs: 0,
      requests: 1,
    }),
    () => ({
      kind: 'oversized query',
      pieces: [request('GET', `/t/q?x=${'y'.repeat(8200 + Math.floor(random() * 4000))}`, host)],
      delayMs: 0,
      requests: 1,
    }),
    () => ({ kind: 'garbage', pieces: [Buffer.from(junk(random, 200), 'utf8')], delayMs: 0, requests: 1 }),
  ];
  return {
    next: () => ({ done: false, value: (kinds[Math.floor(random() * kinds.length)] as () => FuzzCase)() }),
  };
}

/** Sends one case on a fresh connection and collects the status lines and bodies it got. */
export function sendCase(port: number, fuzzCase: FuzzCase, timeoutMs = 2000): Promise<FuzzAnswer[]> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const answers: FuzzAnswer[] = [];
      const re = /HTTP\/1\.[01] (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g;
      let match: RegExpExecArray | null;
      while ((match = re.exec(data)) !== null) {
        const headers = match[2] ?? '';
        const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
        const body = data.slice(re.lastIndex, re.lastIndex + length);
        re.lastIndex += length;
        answers.push({ kind: fuzzCase.kind, status: Number(match[1]), body, closed: false });
      }
      if (answers.length < fuzzCase.requests && closed)
        answers.push({ kind: fuzzCase.kind, status: undefined, body: '', closed: true });
      resolve(answers);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const complete = (data.match(/HTTP\/1\.[01] \d{3}/g) ?? []).length;
      if (complete >= fuzzCase.requests) setTimeout(() => finish(false), 20);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    setTimeout(() => finish(true), timeoutMs);
    void (async () => {
      for (const piece of fuzzCase.pieces) {
        if (settled || socket.destroyed) return;
        socket.write(piece);
        if (fuzzCase.delayMs > 0) await new Promise((r) => setTimeout(r, fuzzCase.delayMs));
      }
    })();
  });
}

/** What the fuzz suite demands of every answer: a 2xx, or a 4xx/5xx with a one-line JSON reason. */
export function answerProblem(answer: FuzzAnswer): string | undefined {
  if (answer.closed || answer.status === undefined) return undefined; // the HTTP parser refused the bytes
  if (answer.status >= 200 && answer.status < 400) return undefined;
  if (answer.status === 431) return undefined; // uWS's own limit on header size
  if (answer.status >= 500 && answer.status !== 503) return `${answer.kind}: server error ${answer.status}`;
  // uWS's own HTTP parser answers a bare 400 to bytes that are not HTTP at all.
  if (answer.body === '')
    return answer.status === 400 ? undefined : `${answer.kind}: ${answer.status} without a reason`;
  try {
    const parsed = JSON.parse(answer.body) as { error?: unknown; detail?: unknown };
    if (typeof parsed.error !== 'string' || typeof parsed.detail !== 'string')
      return `${answer.kind}: ${answer.status} body lacks error/detail`;
  } catch {
    return `${answer.kind}: ${answer.status} body is not JSON: ${answer.body.slice(0, 80)}`;
  }
  return undefined;
}
