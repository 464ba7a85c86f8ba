import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRawHit, encodeRawHit, type RawHit } from '../src/index.js';
import { mutated, rawHit } from './arbitraries.js';

const hit: RawHit = {
  id: '01KAQQ1PG0ZX8M4N7R2T5V9BQH',
  ts: 1763880000000,
  ip: '81.169.145.94',
  host: 't.example.com',
  pod: '10.1.2.3',
  type: 'app_open',
  params: 'deviceid=abcdf&ts=123456&referrer=website',
  ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)',
};
const wire =
  '[1,"01KAQQ1PG0ZX8M4N7R2T5V9BQH",1763880000000,"81.169.145.94","t.example.com","10.1.2.3","app_open",' +
  '"deviceid=abcdf&ts=123456&referrer=website","Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"]';

const fields = (...replace: ReadonlyArray<readonly [number, unknown]>): string => {
  const array: unknown[] = JSON.parse(wire) as unknown[];
  for (const [index, value] of replace) array[index] = value;
  return JSON.stringify(array);
};

const refused: ReadonlyArray<readonly [string, string, string]> = [
  ['not JSON', '[1,"01K', 'raw hit: not JSON: "[1,\\"01K"'],
  ['empty', '', 'raw hit: not JSON: ""'],
  ['an object', '{"v":1}', 'raw hit: expected a JSON array, got an object'],
  ['a string', '"x"', 'raw hit: expected a JSON array, got string "x"'],
  ['null', 'null', 'raw hit: expected a JSON array, got null'],
  ['empty array', '[]', 'raw hit: expected the format version first, got undefined'],
  ['version as string', '["1"]', 'raw hit: expected the format version first, got string "1"'],
  ['unknown version', fields([0, 7]), 'raw hit: unsupported version 7'],
  ['too few fields', '[1,"01KAQQ1PG0ZX8M4N7R2T5V9BQH",1,"x"]', 'raw hit: expected 9 fields, got 4'],
  ['too many fields', fields([9, 'x']), 'raw hit: expected 9 fields, got 10'],
  [
    'bad id',
    fields([1, '01kaqq1pg0zx8m4n7r2t5v9bqh']),
    'raw hit: id is not a ULID: string "01kaqq1pg0zx8m4n7r2t5v9bqh"',
  ],
  ['id as number', fields([1, 5]), 'raw hit: id is not a ULID: number 5'],
  ['fractional ts', fields([2, 1.5]), 'raw hit: ts is not a non-negative integer: number 1.5'],
  ['negative ts', fields([2, -1]), 'raw hit: ts is not a non-negative integer: number -1'],
  ['ts as string', fields([2, '1']), 'raw hit: ts is not a non-negative integer: string "1"'],
  ['ip not an address', fields([3, '1.2.3']), 'raw hit: ip: "1.2.3" is not an IP address: IPv4 needs 4 parts, got 3'],
  ['ip as null', fields([3, null]), 'raw hit: ip is not a string: null'],
  ['host as number', fields([4, 1]), 'raw hit: host is not a string: number 1'],
  ['pod as array', fields([5, []]), 'raw hit: pod is not a string: an array'],
  ['empty type', fields([6, '']), 'raw hit: empty event type'],
  ['type as boolean', fields([6, true]), 'raw hit: type is not a string: boolean true'],
  ['params as object', fields([7, {}]), 'raw hit: params is not a string: an object'],
  ['ua as null', fields([8, null]), 'raw hit: ua is not a string: null'],
];

describe('raw hit', () => {
  it('encodes as a versioned JSON array', () => {
    assert.equal(encodeRawHit(hit), wire);
  });

  it('decodes every field', () => {
    assert.deepEqual(decodeRawHit(wire), { ok: true, value: hit });
  });

  for (const [why, input, reason] of refused) {
    it(`refuses ${why}`, () => {
      assert.deepEqual(decodeRawHit(input), { ok: false, error: reason });
    });
  }

  it('round-trips any hit, lone surrogates included', () => {
    fc.assert(
      fc.property(rawHit, (value) => {
        assert.deepEqual(decodeRawHit(encodeRawHit(value)), { ok: true, value });
      }),
      { numRuns: 1000 },
    );
  });

  it('writes exactly what JSON.stringify writes for the same array', () => {
    // The encoder skips JSON.stringify for fields that need no escaping; the text must not
    // change. Fields of the characters JSON treats specially, and any hit.
    const special = fc.string({
      unit: fc.constantFrom(
        '"',
        '\\',
        '\u0000',
        '\b',
        '\n',
        '\u001f',
        '\u007f',
        '\ud800',
        '\udfff',
        '\u2028',
        'a',
        'é',
        '😀',
      ),
    });
    const hits = fc.oneof(
      rawHit,
      fc.record({
        id: special,
        ts: fc.maxSafeNat(),
        ip: special,
        host: special,
        pod: special,
        type: special,
        params: special,
        ua: special,
      }),
    );
    fc.assert(
      fc.property(hits, (h) => {
        const expected = JSON.stringify([1, h.id, h.ts, h.ip, h.host, h.pod, h.type, h.params, h.ua]);
        assert.equal(encodeRawHit(h), expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on garbage, and gives a one-line reason', () => {
    const garbage = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), mutated(rawHit.map(encodeRawHit)));
    fc.assert(
      fc.property(garbage, (input) => {
        const result = decodeRawHit(input);
        if (!result.ok) assert.match(result.error, /^raw hit: [^\n\r\u2028\u2029]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});
