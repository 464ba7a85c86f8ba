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
    const hits: fc.Arbitrary<RawHit> = fc.oneof(
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
        const common = [h.id, h.ts, h.ip, h.host, h.pod, h.type, h.params, h.ua];
        const plain = h.idSource === undefined && h.createdAt === undefined && h.sentAt === undefined;
        const expected = JSON.stringify(
          plain ? [1, ...common] : [2, ...common, h.idSource ?? null, h.createdAt ?? null, h.sentAt ?? null],
        );
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

describe('raw hit with client fields (version 2)', () => {
  const client: RawHit = { ...hit, idSource: 'client', createdAt: 1763879990000, sentAt: 1763879999000 };
  const clientWire = `[2${wire.slice(2, -1)},"client",1763879990000,1763879999000]`;
  const v2 = (...replace: ReadonlyArray<readonly [number, unknown]>): string => {
    const array: unknown[] = JSON.parse(clientWire) as unknown[];
    for (const [index, value] of replace) array[index] = value;
    return JSON.stringify(array);
  };

  it('encodes the client id and the device times after the version 1 fields', () => {
    assert.equal(encodeRawHit(client), clientWire);
    assert.deepEqual(decodeRawHit(clientWire), { ok: true, value: client });
  });

  it('writes a hit without client fields as version 1, byte for byte', () => {
    assert.equal(encodeRawHit({ ...hit, idSource: undefined, createdAt: undefined, sentAt: undefined }), wire);
  });

  it('keeps a tracker-minted id with device times, and a client id without them', () => {
    const timesOnly: RawHit = { ...hit, createdAt: 5, sentAt: 7 };
    assert.equal(encodeRawHit(timesOnly), v2([9, null], [10, 5], [11, 7]));
    assert.deepEqual(decodeRawHit(encodeRawHit(timesOnly)), { ok: true, value: timesOnly });
    const idOnly: RawHit = { ...hit, idSource: 'client' };
    assert.deepEqual(decodeRawHit(encodeRawHit(idOnly)), { ok: true, value: idOnly });
  });

  const refusedV2: ReadonlyArray<readonly [string, string, string]> = [
    ['9 fields under version 2', fields([0, 2]), 'raw hit: expected 12 fields, got 9'],
    ['12 fields under version 1', v2([0, 1]), 'raw hit: expected 9 fields, got 12'],
    ['another id source', v2([9, 'tracker']), 'raw hit: id source is not "client" or null: string "tracker"'],
    ['a fractional created time', v2([10, 1.5]), 'raw hit: created time is not an integer in [0, 2^48): number 1.5'],
    ['a negative sent time', v2([11, -1]), 'raw hit: sent time is not an integer in [0, 2^48): number -1'],
    [
      'a sent time past 48 bits',
      v2([11, 2 ** 48]),
      'raw hit: sent time is not an integer in [0, 2^48): number 281474976710656',
    ],
    ['a created time as text', v2([10, '5']), 'raw hit: created time is not an integer in [0, 2^48): string "5"'],
  ];
  for (const [why, input, reason] of refusedV2) {
    it(`refuses ${why}`, () => {
      assert.deepEqual(decodeRawHit(input), { ok: false, error: reason });
    });
  }
});
