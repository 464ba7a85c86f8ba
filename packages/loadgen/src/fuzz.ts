import net from 'node:net';
import { publicAddresses, seededRandom } from './traffic.js';

/**
 * Malformed traffic for the tracker, on raw sockets so nothing is normalised on the way:
 * random paths and percent-encodings, invalid UTF-8, huge and many headers, slow clients,
 * broken JSON batches, HTTP/1.0 and pipelined requests, odd methods, repeated and hostile
 * forwarding headers, and bodies whose client goes away halfway.
 */
export interface FuzzCase {
  readonly kind: string;
  /** The bytes to send, in pieces; a delay (ms) between pieces makes a slow client. */
  readonly pieces: readonly Buffer[];
  readonly delayMs: number;
  /** How many responses the server owes (pipelining sends several requests at once). */
  readonly requests: number;
  /** The client closes the connection after the last piece, before its request is complete. */
  readonly abort?: boolean;
  /**
   * A request the tracker must store (204) with this client IP, carrying `fz=<marker>` so the
   * event can be found in Kafka. The IP assumes the tracker trusts its peer, 127.0.0.1, as a
   * proxy (TRACKER_TRUSTED_PROXIES) and believes X-Real-IP (TRACKER_TRUST_X_REAL_IP).
   */
  readonly expect?: FuzzExpectation;
}

export interface FuzzExpectation {
  readonly marker: string;
  readonly ip: string;
}

/** The param that carries a FuzzExpectation's marker. */
export const MARKER_PARAM = 'fz';

/** The peer address of every fuzz connection, which the suite's tracker trusts as a proxy. */
export const FUZZ_PEER = '127.0.0.1';

export interface FuzzAnswer {
  readonly kind: string;
  readonly status: number | undefined;
  readonly body: string;
  /** The server closed the connection without answering (its HTTP parser refused the bytes). */
  readonly closed: boolean;
  /** The connection itself failed (nothing listens there): no answer from the server at all. */
  readonly unreachable?: true;
  readonly expect?: FuzzExpectation;
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

/** Header lines as given: an array may repeat a name (several X-Forwarded-For lines). */
type HeaderLines = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

function request(method: string, path: string, headers: HeaderLines, body = '', version = '1.1'): Buffer {
  const lines = [`${method} ${path} HTTP/${version}`];
  for (const [k, v] of Array.isArray(headers) ? headers : Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== '' || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

const host = { Host: 'fuzz.example' };

/** Address text kafkastore refuses though `isIP` takes some of it: zone ids above all. */
const hostileHops = [
  'fe80::1%eth0',
  'fe80::abcd:1%25en0',
  '[fe80::1%eth0]:443',
  'fe80::1%1',
  'ff02::1%lo',
  '1.2.3.04',
  '::ffff:999.1.1.1',
  'unknown',
];

const publicIpv4 = publicAddresses.filter((a) => !a.includes(':'));

/** A client address as a proxy may write it, and the canonical text the tracker must record. */
function clientAddress(random: () => number): [string, string] {
  const r = random();
  const v4 = pick(publicIpv4, random);
  if (r < 0.4) return [v4, v4];
  if (r < 0.5) return [`${v4}:${1024 + Math.floor(random() * 60000)}`, v4];
  if (r < 0.6) return [`::ffff:${v4}`, v4];
  const group = (): string => Math.floor(random() * 0xffff + 1).toString(16);
  const v6 = `2001:db8:${group()}:${group()}::${group()}`;
  if (r < 0.8) return [v6, v6];
  if (r < 0.9) return [`[${v6.toUpperCase()}]:443`, v6];
  return [v6.toUpperCase(), v6];
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

export function fuzzCases(seed: number): Iterator<FuzzCase> {
  const random = seededRandom(seed);
  let markers = 0;
  const marker = (): string => `${seed}-${(markers += 1)}`;
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
    () => {
      // What the client wrote comes first; the proxy appends the address it saw as its own line
      // (HAProxy's `option forwardfor`), perhaps followed by another trusted proxy's line.
      const expect = { marker: marker(), ip: '' };
      const [sent, recorded] = clientAddress(random);
      const lines: [string, string][] = [['Host', 'fuzz.example']];
      for (let i = Math.floor(random() * 3); i > 0; i -= 1) {
        const spoof = random() < 0.5 ? pick(publicAddresses, random) : pick(hostileHops, random);
        lines.push([random() < 0.5 ? 'X-Forwarded-For' : 'x-forwarded-for', spoof]);
        if (random() < 0.3) lines.push(['X-Other', 'between']);
      }
      lines.push(['X-Forwarded-For', sent]);
      if (random() < 0.3) lines.push(['X-Forwarded-For', FUZZ_PEER]);
      return {
        kind: 'repeated forwarding headers',
        pieces: [request('GET', `/t/xff?${MARKER_PARAM}=${expect.marker}`, lines)],
        delayMs: 0,
        requests: 1,
        expect: { ...expect, ip: recorded },
      };
    },
    () => {
      // An address kafkastore refuses is never believed: where it is the hop that would count,
      // the peer is recorded; left of a good hop it is never looked at.
      const m = marker();
      const hostile = pick(hostileHops, random);
      const [sent, recorded] = clientAddress(random);
      const variants: [readonly (readonly [string, string])[], string][] = [
        [[['X-Forwarded-For', hostile]], FUZZ_PEER],
        [[['X-Forwarded-For', `${sent}, ${hostile}`]], FUZZ_PEER],
        [[['X-Forwarded-For', `${hostile}, ${sent}`]], recorded],
        [
          [
            ['X-Forwarded-For', sent],
            ['X-Forwarded-For', hostile],
          ],
          FUZZ_PEER,
        ],
        [[['X-Real-IP', hostile]], FUZZ_PEER],
        [
          [
            ['X-Real-IP', hostile],
            ['X-Forwarded-For', sent],
          ],
          recorded,
        ],
      ];
      const [lines, ip] = pick(variants, random);
      return {
        kind: 'zone id in forwarding headers',
        pieces: [request('GET', `/t/zone?${MARKER_PARAM}=${m}`, [['Host', 'fuzz.example'], ...lines])],
        delayMs: 0,
        requests: 1,
        expect: { marker: m, ip },
      };
    },
    () => {
      // The client promises a body and goes away halfway: nothing is owed, nothing is stored,
      // and the tracker must let go of the request (in-flight gauge, memory).
      const length = 1_000 + Math.floor(random() * 300_000);
      const sent = Math.floor(random() * length);
      const target = random() < 0.5 ? '/t' : `/t/aborted?x=${Math.floor(random() * 1e6)}`;
      const head = Buffer.from(
        `POST ${target} HTTP/1.1\r\nHost: fuzz.example\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`,
      );
      const body = Buffer.from(`[${'{"event":"a"},'.repeat(Math.ceil(sent / 14))}`.slice(0, sent));
      const pieces = [head];
      for (let i = 0; i < body.length; i += 64 * 1024) pieces.push(body.subarray(i, i + 64 * 1024));
      return { kind: 'aborted body', pieces, delayMs: 1, requests: 0, abort: true };
    },
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
    let connected = false;
    socket.once('connect', () => (connected = true));
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
        answers.push({ kind: fuzzCase.kind, status: Number(match[1]), body, closed: false, expect: fuzzCase.expect });
      }
      if (answers.length < fuzzCase.requests && closed)
        answers.push({
          kind: fuzzCase.kind,
          status: undefined,
          body: '',
          closed: true,
          ...(connected ? {} : { unreachable: true as const }),
          expect: fuzzCase.expect,
        });
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
      // Let the bytes reach the server, then go away mid-request.
      if (fuzzCase.abort) setTimeout(() => finish(false), 20);
    })();
  });
}

/** What the fuzz suite demands of every answer: a 2xx, or a 4xx/5xx with a one-line JSON reason. */
export function answerProblem(answer: FuzzAnswer): string | undefined {
  // Well-formed requests the tracker must store (503 only when Redis is away or full).
  if (answer.expect && answer.status !== 204 && answer.status !== 503)
    return `${answer.kind}: ${answer.status ?? 'closed'} for a request that must be stored: ${answer.body.slice(0, 80)}`;
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
