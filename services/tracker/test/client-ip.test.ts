import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressToBigInt, parseCidr, parseCidrList, type Cidr } from '../src/cidr.js';
import { clientIp } from '../src/client-ip.js';

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
  ];
  for (const [name, peer, xff, real, trusted, expected] of table) {
    it(name, () => assert.equal(clientIp(peer, xff, real, trusted), expected));
  }
});
