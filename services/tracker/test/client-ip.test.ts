import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRawHit } from '@pushtech/event';
import { addressToBigInt, parseCidr, parseCidrList, type Cidr } from '../src/cidr.js';
import { clientIp } from '../src/client-ip.js';
import { request, startTestTracker } from './helpers.js';
import { rawExchange } from './raw-http.js';

function cidrs(...items: string[]): Cidr[] {
  const list = parseCidrList(items);
  if (typeof list === 'string') throw new Error(`bad cidr ${list}`);
  return list;
}

describe('parseCidr', () => {
  const table: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.200.1.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['192.168.1.7', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['fd00::/8', 'fd12:3456::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['::1/128', '::1', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
  ];
  for (const [range, ip, expected] of table) {
    it(`${range} ${expected ? 'contains' : 'does not contain'} ${ip}`, () => {
      assert.equal(parseCidr(range)?.contains(ip), expected);
    });
  }

  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', 'nonsense', '10.0.0.0/x', '']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(parseCidr(bad), undefined));
  }

  it('an IPv4 range agrees with the prefix arithmetic on random addresses, in both text forms', () => {
    const quad = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
    const random32 = (): number => Math.floor(Math.random() * 2 ** 32);
    for (let round = 0; round < 2000; round += 1) {
      const prefix = Math.floor(Math.random() * 33);
      const base = random32();
      const range = `${quad(base)}/${prefix}`;
      const cidr = parseCidr(range);
      assert.ok(cidr, range);
      // Half the addresses share the range's top bits, so both answers are exercised.
      const address = round % 2 === 0 ? random32() : (base ^ (random32() >>> prefix)) >>> 0;
      const expected = prefix === 0 || address >>> (32 - prefix) === base >>> (32 - prefix);
      assert.equal(cidr.contains(quad(address)), expected, `${range} ${quad(address)}`);
      assert.equal(cidr.contains(`::ffff:${quad(address)}`), expected, `${range} ::ffff:${quad(address)}`);
    }
  });

  it('an IPv6 range answers dotted quads as the 128-bit arithmetic does', () => {
    const quad = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
    const random32 = (): number => Math.floor(Math.random() * 2 ** 32);
    const hex = (n: bigint): string => n.toString(16);
    // Ranges that hold all of ::ffff:0:0/96, a part of it, or none of it.
    const ranges = (): string[] => {
      const n = random32();
      const groups = `${hex(BigInt(n >>> 16))}:${hex(BigInt(n & 0xffff))}`;
      return [
        `::ffff:${groups}/${96 + Math.floor(Math.random() * 33)}`,
        `::ffff:0:0/${Math.floor(Math.random() * 97)}`,
        `::/${Math.floor(Math.random() * 129)}`,
        `2001:db8::${groups}/${Math.floor(Math.random() * 129)}`,
      ];
    };
    for (let round = 0; round < 500; round += 1) {
      for (const range of ranges()) {
        const cidr = parseCidr(range);
        assert.ok(cidr, range);
        const [base = '', prefix = ''] = range.split('/');
        const bits = BigInt(prefix);
        const mask = bits === 0n ? 0n : ((1n << 128n) - 1n) ^ ((1n << (128n - bits)) - 1n);
        const network = (addressToBigInt(base) ?? assert.fail(base)) & mask;
        const address = quad(random32());
        const expected = ((addressToBigInt(address) ?? assert.fail(address)) & mask) === network;
        assert.equal(cidr.contains(address), expected, `${range} ${address}`);
      }
    }
  });

  it('any range answers IPv6 addresses as the 128-bit arithmetic does', () => {
    const random16 = (): number => Math.floor(Math.random() * 0x10000);
    const groups = (): number[] => Array.from({ length: 8 }, random16);
    const text = (g: readonly number[]): string => g.map((n) => n.toString(16)).join(':');
    for (let round = 0; round < 2000; round += 1) {
      const base = groups();
      const prefix = Math.floor(Math.random() * 129);
      const range = `${text(base)}/${prefix}`;
      const cidr = parseCidr(range);
      assert.ok(cidr, range);
      // Half the addresses keep the range's first groups and differ after some bit of the
      // prefix's neighbourhood, so both answers are exercised; some are mapped IPv4.
      const address = round % 2 === 0 ? groups() : base.map((g, i) => (i * 16 >= prefix - 8 ? random16() : g));
      if (round % 7 === 0) address.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
      const bits = BigInt(prefix);
      const mask = bits === 0n ? 0n : ((1n << 128n) - 1n) ^ ((1n << (128n - bits)) - 1n);
      const network = (addressToBigInt(text(base)) ?? assert.fail(range)) & mask;
      const expected = ((addressToBigInt(text(address)) ?? assert.fail(text(address))) & mask) === network;
      assert.equal(cidr.contains(text(address)), expected, `${range} ${text(address)}`);
    }
  });

  it('names the first bad entry of a list', () => {
    assert.equal(parseCidrList(['10.0.0.0/8', 'x/1']), 'x/1');
  });
});

describe('clientIp', () => {
  const proxies = cidrs('10.0.0.0/8', 'fd00::/8');
  const table: [string, string, string, string, readonly Cidr[], string][] = [
    [
      'no proxies configured: the peer, whatever the headers say',
      '203.0.113.9',
      '1.2.3.4',
      '5.6.7.8',
      [],
      '203.0.113.9',
    ],
    ['untrusted peer spoofing X-Forwarded-For', '203.0.113.9', '1.2.3.4', '', proxies, '203.0.113.9'],
    ['untrusted peer spoofing X-Real-IP', '203.0.113.9', '', '1.2.3.4', proxies, '203.0.113.9'],
    ['trusted proxy: the address it saw', '10.0.0.5', '198.51.100.7', '', proxies, '198.51.100.7'],
    ['chain: the right-most untrusted hop', '10.0.0.5', '6.6.6.6, 198.51.100.7, 10.0.0.9', '', proxies, '198.51.100.7'],
    ['client-prepended garbage is not believed', '10.0.0.5', 'spoofed, 198.51.100.7', '', proxies, '198.51.100.7'],
    ['IPv6 client behind an IPv6 proxy', 'fd00::1', '2001:db8::42', '', proxies, '2001:db8::42'],
    ['IPv4 client behind a dual-stack peer address', '::ffff:10.0.0.5', '198.51.100.7', '', proxies, '198.51.100.7'],
    ['ports appended by a proxy', '10.0.0.5', '198.51.100.7:5555', '', proxies, '198.51.100.7'],
    ['bracketed IPv6 with port', '10.0.0.5', '[2001:db8::42]:443', '', proxies, '2001:db8::42'],
    ['X-Real-IP from a trusted proxy without XFF', '10.0.0.5', '', '198.51.100.7', proxies, '198.51.100.7'],
    ['a malformed last hop keeps the peer', '10.0.0.5', 'not-an-ip', '', proxies, '10.0.0.5'],
    ['every hop trusted: the left-most', '10.0.0.5', '10.0.0.1, 10.0.0.2', '', proxies, '10.0.0.1'],
    ['a zone id is refused as kafkastore refuses it: the peer', '10.0.0.5', 'fe80::1%eth0', '', proxies, '10.0.0.5'],
    ['a bracketed zone id with a port: the peer', '10.0.0.5', '[fe80::1%25eth0]:443', '', proxies, '10.0.0.5'],
    ['a leading zero in an IPv4 hop: the peer', '10.0.0.5', '198.051.100.7', '', proxies, '10.0.0.5'],
    ['an IPv4-mapped hop comes back dotted', '10.0.0.5', '::ffff:198.51.100.7', '', proxies, '198.51.100.7'],
    ['an IPv6 hop comes back canonical', '10.0.0.5', '2001:DB8:0:0::42', '', proxies, '2001:db8::42'],
    ['empty list elements are skipped', '10.0.0.5', ', 198.51.100.7,', '', proxies, '198.51.100.7'],
    [
      'lines joined in order: the proxy-appended one counts',
      '10.0.0.5',
      '6.6.6.6,198.51.100.7',
      '',
      proxies,
      '198.51.100.7',
    ],
    ['X-Real-IP with a zone id: the peer', '10.0.0.5', '', 'fe80::1%eth0', proxies, '10.0.0.5'],
    ['X-Real-IP sent twice (joined): the peer', '10.0.0.5', '', '198.51.100.7,6.6.6.6', proxies, '10.0.0.5'],
  ];
  for (const [name, peer, xff, real, trusted, expected] of table) {
    it(name, () => assert.equal(clientIp(peer, xff, real, trusted), expected));
  }
});

describe('client IP through a real tracker', () => {
  const get = (lines: readonly string[]): string[] => ['GET /t/a HTTP/1.1', 'Host: t.example', ...lines];

  it('a proxy-appended X-Forwarded-For line is not hidden by the client-sent line before it', async (t) => {
    // HAProxy's `option forwardfor` appends its own line; uWS's getHeader reads only the first.
    const tt = await startTestTracker(t, { TRACKER_TRUSTED_PROXIES: '127.0.0.0/8' });
    const table: [string, string[], string][] = [
      ['client line, then proxy line', ['X-Forwarded-For: 6.6.6.6', 'X-Forwarded-For: 198.51.100.7'], '198.51.100.7'],
      [
        'three lines, the last a trusted hop',
        ['X-Forwarded-For: 6.6.6.6', 'X-Forwarded-For: 198.51.100.8, 127.0.0.9', 'x-forwarded-for: 127.0.0.1'],
        '198.51.100.8',
      ],
      [
        'other headers between the lines',
        ['X-Forwarded-For: 6.6.6.6', 'X-Other: 1', 'X-Forwarded-For: 2001:db8::9'],
        '2001:db8::9',
      ],
      [
        'a client line with garbage before the proxy line',
        ['X-Forwarded-For: nonsense', 'X-Forwarded-For: 198.51.100.10'],
        '198.51.100.10',
      ],
    ];
    for (const [name, lines] of table) assert.equal((await rawExchange(tt.port, get(lines)))?.status, 204, name);
    assert.deepEqual(
      (await tt.stored()).map((h) => h.ip),
      table.map(([, , ip]) => ip),
    );
  });

  it('a zone id (or anything kafkastore refuses) in a forwarding header is never acknowledged and then dead-lettered', async (t) => {
    // Before: `fe80::1%eth0` passed isIP, was answered 204, and kafkastore dead-lettered the hit.
    const tt = await startTestTracker(t, { TRACKER_TRUSTED_PROXIES: '127.0.0.0/8', TRACKER_TRUST_X_REAL_IP: 'true' });
    const hostile = [
      'X-Forwarded-For: fe80::1%eth0',
      'X-Forwarded-For: 198.51.100.7, fe80::1%25eth0',
      'X-Forwarded-For: [fe80::1%eth0]:443',
      'X-Forwarded-For: fe80::1%1',
      'X-Forwarded-For: 1.2.3.04',
      'X-Real-IP: fe80::1%eth0',
    ];
    for (const line of hostile) assert.equal((await rawExchange(tt.port, get([line])))?.status, 204, line);
    const entries = await tt.redis.client.lrange(tt.queueKey, 0, -1);
    assert.equal(entries.length, hostile.length);
    for (const entry of entries) {
      // What kafkastore does with the entry: it must decode, so it is never dead-lettered.
      const hit = decodeRawHit(entry);
      assert.ok(hit.ok, hit.ok ? '' : hit.error);
      assert.equal(hit.value.ip, '127.0.0.1', 'an address that is not believed falls back to the peer');
    }
  });

  it('X-Real-IP is ignored unless TRACKER_TRUST_X_REAL_IP is set', async (t) => {
    const table: [string, Record<string, string>, string][] = [
      ['default', {}, '127.0.0.1'],
      ['false', { TRACKER_TRUST_X_REAL_IP: 'false' }, '127.0.0.1'],
      ['true', { TRACKER_TRUST_X_REAL_IP: 'true' }, '203.0.113.5'],
    ];
    for (const [name, env, expected] of table) {
      const tt = await startTestTracker(t, { TRACKER_TRUSTED_PROXIES: '127.0.0.0/8', ...env });
      assert.equal((await request(tt.port, 'GET', '/t/a', { headers: { 'X-Real-IP': '203.0.113.5' } })).status, 204);
      assert.deepEqual(
        (await tt.stored()).map((h) => h.ip),
        [expected],
        name,
      );
    }
  });
});
