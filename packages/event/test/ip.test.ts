import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp, ipFromHex, ipGroups, ipToHex, ipv4Number } from '../src/index.js';
import { referenceCanonicalIp } from './reference-ip.js';

// [address text, wire hex, canonical text]
const valid: ReadonlyArray<readonly [string, string, string]> = [
  ['127.0.0.1', 'ffff7f000001', '127.0.0.1'],
  ['81.169.145.94', 'ffff51a9915e', '81.169.145.94'],
  ['0.0.0.0', 'ffff00000000', '0.0.0.0'],
  ['255.255.255.255', 'ffffffffffff', '255.255.255.255'],
  ['::1', '1', '::1'],
  ['::', '0', '::'],
  ['2001:db8::1', '20010db8000000000000000000000001', '2001:db8::1'],
  ['2001:DB8:0:0:0:0:0:1', '20010db8000000000000000000000001', '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001', '2001:db8::1'],
  ['fe80::1:0:0:1', 'fe800000000000000001000000000001', 'fe80::1:0:0:1'],
  ['::ffff:127.0.0.1', 'ffff7f000001', '127.0.0.1'],
  ['::FFFF:7f00:1', 'ffff7f000001', '127.0.0.1'],
  ['0000:0000:0000:0000:0000:ffff:7f00:0001', 'ffff7f000001', '127.0.0.1'],
  ['1::', '10000000000000000000000000000', '1::'],
  ['1:2:3:4:5:6:7:8', '10002000300040005000600070008', '1:2:3:4:5:6:7:8'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'f'.repeat(32), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  // RFC 5952: a single zero group is not compressed; of equal runs the first is.
  ['1:0:2:3:4:5:6:7', '10000000200030004000500060007', '1:0:2:3:4:5:6:7'],
  ['1:2:3:4:5:6:7::', '10002000300040005000600070000', '1:2:3:4:5:6:7:0'],
  ['1:0:0:2:0:0:3:4', '10000000000020000000000030004', '1::2:0:0:3:4'],
  ['1:0:0:2:0:0:0:3', '10000000000020000000000000003', '1:0:0:2::3'],
  // IPv4-compatible (deprecated) and other embedded forms are not IPv4-mapped.
  ['::1.2.3.4', '1020304', '::102:304'],
  ['64:ff9b::192.0.2.33', '64ff9b0000000000000000c0000221', '64:ff9b::c000:221'],
  ['::ffff:0:1.2.3.4', 'ffff000001020304', '::ffff:0:102:304'],
];

const invalid: ReadonlyArray<readonly [string, string]> = [
  ['', 'ip: empty address'],
  ['1.2.3', 'ip: "1.2.3" is not an IP address: IPv4 needs 4 parts, got 3'],
  ['1.2.3.4.5', 'ip: "1.2.3.4.5" is not an IP address: IPv4 needs 4 parts, got more'],
  ['256.1.1.1', 'ip: "256.1.1.1" is not an IP address: IPv4 part above 255'],
  ['01.2.3.4', 'ip: "01.2.3.4" is not an IP address: leading zero in an IPv4 part'],
  ['1.2.3.', 'ip: "1.2.3." is not an IP address: empty IPv4 part'],
  ['1.2.3.4 ', 'ip: "1.2.3.4 " is not an IP address: unexpected character " "'],
  ['1::2::3', 'ip: "1::2::3" is not an IP address: more than one "::"'],
  ['gggg::', 'ip: "gggg::" is not an IP address: unexpected character "g"'],
  ['fe80::1%eth0', 'ip: "fe80::1%eth0" is not an IP address: zone ids are not allowed'],
  [':1::', 'ip: ":1::" is not an IP address: starts with a single ":"'],
  ['1::2:', 'ip: "1::2:" is not an IP address: ends with a single ":"'],
  ['1:2:3:4:5:6:7', 'ip: "1:2:3:4:5:6:7" is not an IP address: expected 8 groups, got 7'],
  ['1:2:3:4:5:6:7:8:9', 'ip: "1:2:3:4:5:6:7:8:9" is not an IP address: more than 8 groups'],
  ['1:2:3:4::5:6:7:8', 'ip: "1:2:3:4::5:6:7:8" is not an IP address: "::" with 8 other groups'],
  ['12345::', 'ip: "12345::" is not an IP address: group with more than 4 hex digits'],
  ['::ffff:1.2.3', 'ip: "::ffff:1.2.3" is not an IP address: IPv4 needs 4 parts, got 3'],
  ['1:2:3:4:5:6:7:1.2.3.4', 'ip: "1:2:3:4:5:6:7:1.2.3.4" is not an IP address: more than 8 groups'],
  ['::1.2.3.4:5', 'ip: "::1.2.3.4:5" is not an IP address: unexpected character ":"'],
  ['[::1]', 'ip: "[::1]" is not an IP address: unexpected character "["'],
  ['localhost', 'ip: "localhost" is not an IP address: unexpected character "l"'],
];

const invalidHex: ReadonlyArray<readonly [string, string]> = [
  ['', 'ip: empty hex'],
  ['1'.repeat(33), `ip: hex "${'1'.repeat(33)}" has 33 digits, at most 32 fit in 128 bits`],
  ['0ffff7f000001', 'ip: hex "0ffff7f000001" has a leading zero'],
  ['FFFF7F000001', 'ip: hex "FFFF7F000001" has a character other than 0-9 a-f'],
  ['ffff7f00000g', 'ip: hex "ffff7f00000g" has a character other than 0-9 a-f'],
  ['-1', 'ip: hex "-1" has a character other than 0-9 a-f'],
];

describe('ip encoding', () => {
  for (const [address, hex, canonical] of valid) {
    it(`${address} <-> ${hex}`, () => {
      assert.deepEqual(ipToHex(address), { ok: true, value: hex });
      assert.deepEqual(ipFromHex(hex), { ok: true, value: canonical });
      assert.deepEqual(canonicalIp(address), { ok: true, value: canonical });
    });
  }

  for (const [address, reason] of invalid) {
    it(`refuses ${JSON.stringify(address)}`, () => {
      assert.deepEqual(ipToHex(address), { ok: false, error: reason });
      assert.deepEqual(canonicalIp(address), { ok: false, error: reason });
    });
  }

  for (const [hex, reason] of invalidHex) {
    it(`refuses hex ${JSON.stringify(hex.slice(0, 12))}`, () => {
      assert.deepEqual(ipFromHex(hex), { ok: false, error: reason });
    });
  }

  it('reads a canonical dotted quad as its 32-bit number and nothing else', () => {
    assert.equal(ipv4Number('0.0.0.0'), 0);
    assert.equal(ipv4Number('81.169.145.94'), 0x51a9915e);
    assert.equal(ipv4Number('255.255.255.255'), 0xffffffff);
    for (const text of ['', '1.2.3', '01.2.3.4', '1.2.3.256', '::ffff:1.2.3.4', '::1', ' 1.2.3.4', 'a.b.c.d']) {
      assert.equal(ipv4Number(text), undefined, text);
    }
    fc.assert(
      fc.property(fc.ipV4(), (address) => {
        const hex = ipToHex(address);
        assert.ok(hex.ok);
        assert.equal(ipv4Number(address), parseInt(hex.value.slice(4), 16));
      }),
    );
  });

  it('reads any address into the eight groups of its wire hex, and refuses what canonicalIp refuses', () => {
    const groupsOf = (hex: string): number[] => {
      const full = hex.padStart(32, '0');
      return Array.from({ length: 8 }, (_, g) => parseInt(full.slice(g * 4, g * 4 + 4), 16));
    };
    const out = new Uint16Array(8);
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(address, (text) => {
        out.fill(0xabcd);
        const hex = ipToHex(text);
        assert.equal(ipGroups(text, out), hex.ok, text);
        // Refused text leaves `out` alone; accepted text fills all of it.
        assert.deepEqual([...out], hex.ok ? groupsOf(hex.value) : Array<number>(8).fill(0xabcd), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any IPv4 address to itself', () => {
    fc.assert(
      fc.property(fc.ipV4(), (address) => {
        const hex = ipToHex(address);
        assert.ok(hex.ok);
        assert.deepEqual(ipFromHex(hex.value), { ok: true, value: address });
      }),
    );
  });

  it('round-trips any IPv6 text to its canonical form, as the URL standard serializes it', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        const hex = ipToHex(address);
        assert.ok(hex.ok, address);
        const canonical = ipFromHex(hex.value);
        assert.deepEqual(canonicalIp(address), canonical);
        assert.deepEqual(canonical, { ok: true, value: referenceCanonicalIp(address) });
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips every 128-bit value through canonical text', () => {
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    const mapped = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v4) => 0xffff00000000n + BigInt(v4));
    const value = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
      fc
        .array(group, { minLength: 8, maxLength: 8 })
        .map((groups) => groups.reduce((n, g) => (n << 16n) + BigInt(g), 0n)),
      mapped,
    );
    fc.assert(
      fc.property(value, (n) => {
        const hex = n.toString(16);
        const text = ipFromHex(hex);
        assert.ok(text.ok, text.ok ? '' : text.error);
        assert.deepEqual(ipToHex(text.value), { ok: true, value: hex });
        assert.deepEqual(canonicalIp(text.value), text);
        assert.equal(text.value, referenceCanonicalIp(text.value));
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts exactly what node:net accepts, for text without zone ids', () => {
    const soup = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg:.', '::', 'ffff:', '255', '00') });
    const candidate = fc.oneof(soup, fc.ipV4Extended(), fc.ipV6(), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(candidate, (address) => {
        fc.pre(!address.includes('%'));
        assert.equal(ipToHex(address).ok, net.isIP(address) !== 0, address);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (input) => {
        const results = [ipToHex(input), ipFromHex(input), canonicalIp(input)];
        for (const result of results) if (!result.ok) assert.match(result.error, /^ip: [^\n]*$/);
      }),
    );
  });
});
