import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  canonicalParamValue,
  decodeParams,
  encodeParams,
  isCanonicalParams,
  paramsToObject,
  type ParamList,
} from '../src/index.js';
import { toWellFormed } from '../src/well-formed.js';
import { paramList, text, textWithLoneSurrogates } from './arbitraries.js';

/** What encodeURIComponent leaves alone, plus '+' for space and the pair separators. */
const URLENCODED = /^[A-Za-z0-9\-_.!~*'()%+=&]*$/;

const encodings: ReadonlyArray<readonly [string, ParamList, string]> = [
  ['nothing', [], ''],
  ['one pair', [['deviceid', 'abcdf']], 'deviceid=abcdf'],
  [
    'order and duplicates',
    [
      ['b', '2'],
      ['a', '1'],
      ['b', '3'],
    ],
    'b=2&a=1&b=3',
  ],
  ['space as plus, plus escaped', [['a b', 'c+d']], 'a+b=c%2Bd'],
  ['separators escaped', [['&=', '%?#']], '%26%3D=%25%3F%23'],
  ['empty name and value', [['', '']], '='],
  ['unicode as UTF-8', [['é', '😀']], '%C3%A9=%F0%9F%98%80'],
  ['controls escaped', [['\t\n', '\u0000']], '%09%0A=%00'],
  ['lone surrogate as U+FFFD', [['\ud800', 'x\udc00']], '%EF%BF%BD=x%EF%BF%BD'],
];

const decodings: ReadonlyArray<readonly [string, string, ParamList]> = [
  ['empty', '', []],
  ['plus as space', 'a+b=c+d', [['a b', 'c d']]],
  ['%20 as space', 'a%20b=c', [['a b', 'c']]],
  [
    'name without =',
    'a&b=1',
    [
      ['a', ''],
      ['b', '1'],
    ],
  ],
  ['only the first = splits', 'a=b=c', [['a', 'b=c']]],
  [
    'empty pairs skipped',
    '&&a=1&&&b=2&',
    [
      ['a', '1'],
      ['b', '2'],
    ],
  ],
  [
    'malformed escapes kept',
    'a=%zz&b=%2&c=%',
    [
      ['a', '%zz'],
      ['b', '%2'],
      ['c', '%'],
    ],
  ],
  [
    'invalid UTF-8 as U+FFFD',
    'a=%FF&b=%C3',
    [
      ['a', '\ufffd'],
      ['b', '\ufffd'],
    ],
  ],
  ['encoded surrogate as U+FFFD per byte', 'a=%ED%A0%80', [['a', '\ufffd\ufffd\ufffd']]],
  [
    'raw non-ASCII after a bad escape as UTF-8',
    'a=%C3\u00a9&b=%FF\u0080',
    [
      ['a', '\ufffd\u00a9'],
      ['b', '\ufffd\u0080'],
    ],
  ],
  ['BOM kept', 'a=%EF%BB%BFx', [['a', '\ufeffx']]],
  ['leading ? is a name', '?a=1', [['?a', '1']]],
  ['lone surrogate in input', 'a=\ud800', [['a', '\ufffd']]],
];

describe('params', () => {
  for (const [why, list, encoded] of encodings) {
    it(`encode ${why}`, () => {
      assert.equal(encodeParams(list), encoded);
    });
  }

  for (const [why, encoded, list] of decodings) {
    it(`decode ${why}`, () => {
      assert.deepEqual(decodeParams(encoded), list);
    });
  }

  it('round-trip any list of well-formed strings, never writing a raw space', () => {
    fc.assert(
      fc.property(paramList, (list) => {
        const encoded = encodeParams(list);
        assert.match(encoded, URLENCODED);
        assert.deepEqual(decodeParams(encoded), list);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trip lone surrogates as U+FFFD', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(textWithLoneSurrogates, textWithLoneSurrogates)), (list) => {
        const encoded = encodeParams(list);
        assert.match(encoded, URLENCODED);
        assert.deepEqual(
          decodeParams(encoded),
          list.map(([name, value]) => [toWellFormed(name), toWellFormed(value)]),
        );
      }),
    );
  });

  // Node 20's URLSearchParams reads raw non-ASCII characters as Latin-1 bytes once a '%'
  // escape fails to decode (the URL standard UTF-8 encodes them), so it is the reference only
  // for ASCII input or input without '%'; the table above covers the mixed case.
  it('decode as URLSearchParams does', () => {
    const asciiUrlencoded = fc.string({
      unit: fc.oneof(
        fc.constantFrom('&', '=', '+', '%', '%2', '%C3', '%A9', '%FF', '%ED%A0%80', '%F0%9F%98', '%zz', '%20'),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
        fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
      ),
    });
    const withoutEscapes = fc.oneof(text(), textWithLoneSurrogates).filter((s) => !s.includes('%'));
    fc.assert(
      fc.property(fc.oneof(asciiUrlencoded, withoutEscapes), (input) => {
        fc.pre(!input.startsWith('?'));
        assert.deepEqual(decodeParams(input), [...new URLSearchParams(input)]);
      }),
      { numRuns: 1000 },
    );
  });

  it('stay linear on many pairs without =', () => {
    const input = 'a&'.repeat(200_000);
    assert.equal(decodeParams(input).length, 200_000);
  });

  it('as an object: the last value wins, any name is a plain key', () => {
    const object = paramsToObject([
      ['a', '1'],
      ['__proto__', 'x'],
      ['a', '2'],
      ['toString', 'y'],
    ]);
    assert.deepEqual(Object.entries(object), [
      ['a', '2'],
      ['__proto__', 'x'],
      ['toString', 'y'],
    ]);
    assert.equal(Object.getPrototypeOf(object), null);
    assert.equal(paramsToObject([])['constructor'], undefined);
  });
});

describe('canonical params text', () => {
  it('is exactly the text encodeParams gives back, whenever isCanonicalParams says so', () => {
    fc.assert(
      fc.property(fc.oneof(paramList.map(encodeParams), fc.string(), fc.stringMatching(/^[a-z=&%+.]{0,20}$/)), (t) => {
        if (isCanonicalParams(t)) assert.equal(encodeParams(decodeParams(t)), t);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts plain pairs and refuses anything that needs decoding', () => {
    const yes = ['a=1', 'deviceid=abc-1&ts=17&x=', "a.b=c!~*'()_"];
    const no = ['', 'a', 'a=1&', '=1', 'a=1&&b=2', 'a=b c', 'a=%41', 'a=b+c', 'a=é', 'a=1=2', 'a=1;b=2'];
    for (const t of yes) assert.equal(isCanonicalParams(t), true, t);
    for (const t of no) assert.equal(isCanonicalParams(t), false, t);
  });

  it('canonicalParamValue finds the first value of a name as decodeParams would', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ab', 'ba', 'deviceid'), fc.stringMatching(/^[a-z0-9]{0,4}$/)), {
          maxLength: 6,
        }),
        fc.constantFrom('a', 'b', 'ab', 'deviceid', 'x'),
        (pairs, name) => {
          const t = encodeParams(pairs);
          const expected = decodeParams(t).find(([k]) => k === name)?.[1];
          assert.equal(canonicalParamValue(t, name), expected);
        },
      ),
    );
  });
});
