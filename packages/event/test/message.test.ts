import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, decodeMessageType, encodeMessage, metaKeys, type TrackingEvent } from '../src/index.js';
import { sampleEvent } from '../src/testing.js';

// The example line of ARCHITECTURE.md, "The Kafka message", with a concrete id.
const ID = '01KAQQ1PG0ZX8M4N7R2T5V9BQH';
const line =
  'app_open type=Mobile&browser=Safari&engine=WebKit&version=17.0&os=iOS&host=t.example.com' +
  `&ts=1763880000000&ip=ffff51a9915e&klag=12&country=DE&city=Berlin&id=${ID}&pod=10.1.2.3` +
  ' deviceid=abcdf&ts=123456&referrer=website';

// The same event as an object: the sample event with the line's time, address and id.
const event: TrackingEvent = sampleEvent({
  meta: { ts: 1763880000000, ip: '81.169.145.94', id: ID },
  params: [
    ['deviceid', 'abcdf'],
    ['ts', '123456'],
    ['referrer', 'website'],
  ],
});

const metaOf = (line: string): string => line.split(' ')[1] ?? '';
const exampleMeta = metaOf(line);
const withMeta = (meta: string): string => `app_open ${meta} deviceid=abcdf`;
const replaceKey = (key: string, value: string): string =>
  withMeta(exampleMeta.replace(new RegExp(`(^|&)${key}=[^&]*`), `$1${key}=${value}`));
const withoutKey = (key: string): string => withMeta(exampleMeta.replace(new RegExp(`(^|&)${key}=[^&]*`), ''));

describe('Kafka message', () => {
  it('decodes the example line, field by field', () => {
    const decoded = decodeMessage(line);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
    const { type, meta, params } = decoded.value;
    assert.equal(type, 'app_open');
    assert.equal(meta.type, 'Mobile');
    assert.equal(meta.browser, 'Safari');
    assert.equal(meta.engine, 'WebKit');
    assert.equal(meta.version, '17.0');
    assert.equal(meta.os, 'iOS');
    assert.equal(meta.host, 't.example.com');
    assert.equal(meta.ts, 1763880000000);
    assert.equal(meta.ip, '81.169.145.94');
    assert.equal(meta.klag, 12);
    assert.equal(meta.country, 'DE');
    assert.equal(meta.city, 'Berlin');
    assert.equal(meta.id, ID);
    assert.equal(meta.pod, '10.1.2.3');
    assert.deepEqual(meta.extra, []);
    for (const key of ['region', 'lat', 'lon', 'osVersion', 'vendor', 'model', 'bot']) assert.ok(!(key in meta), key);
    assert.deepEqual(params, event.params);
    assert.deepEqual(decoded.value, event);
  });

  it('encodes the typed example to the exact line', () => {
    assert.equal(encodeMessage(event), line);
  });

  it('writes the added keys after the original ones, then unknown keys', () => {
    const full: TrackingEvent = {
      type: 'app open/ä+',
      meta: {
        ...event.meta,
        ip: '2001:db8::1',
        region: 'BE',
        lat: 52.52,
        lon: -13.405,
        osVersion: '17.0.1',
        vendor: 'Apple',
        model: 'iPhone 15',
        bot: false,
        extra: [
          ['zeta', 'z z'],
          ['alpha', ''],
        ],
      },
      params: [],
    };
    const expected =
      'app%20open%2F%C3%A4%2B type=Mobile&browser=Safari&engine=WebKit&version=17.0&os=iOS&host=t.example.com' +
      `&ts=1763880000000&ip=20010db8000000000000000000000001&klag=12&country=DE&city=Berlin&id=${ID}&pod=10.1.2.3` +
      '&region=BE&lat=52.52&lon=-13.405&os_version=17.0.1&vendor=Apple&model=iPhone+15&bot=0&zeta=z+z&alpha= ';
    assert.equal(encodeMessage(full), expected);
    assert.deepEqual(decodeMessage(expected), { ok: true, value: full });
  });

  it('keeps unknown meta keys in order wherever they appear, and moves them last on encode', () => {
    const decoded = decodeMessage(withMeta(`later=2&${exampleMeta.replace('&ts=', '&newkey=a+b&ts=')}&bot=1`));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.meta.extra, [
      ['later', '2'],
      ['newkey', 'a b'],
    ]);
    assert.equal(decoded.value.meta.bot, true);
    assert.equal(metaOf(encodeMessage(decoded.value)), `${exampleMeta}&bot=1&later=2&newkey=a+b`);
  });

  it('writes a coordinate in exponent notation without a raw +', () => {
    const far: TrackingEvent = { ...event, meta: { ...event.meta, lat: 1e21, lon: 5e-324 } };
    const encoded = encodeMessage(far);
    assert.match(encoded, /&lat=1e%2B21&lon=5e-324 /);
    assert.deepEqual(decodeMessage(encoded), { ok: true, value: far });
  });

  it('writes an empty third field when there are no params', () => {
    const encoded = encodeMessage({ ...event, params: [] });
    assert.ok(encoded.endsWith(`&pod=10.1.2.3 `));
    assert.deepEqual(decodeMessage(encoded), { ok: true, value: { ...event, params: [] } });
  });

  it('lists the meta keys in wire order', () => {
    assert.deepEqual(metaKeys, [
      'type',
      'browser',
      'engine',
      'version',
      'os',
      'host',
      'ts',
      'ip',
      'klag',
      'country',
      'city',
      'id',
      'pod',
      'region',
      'lat',
      'lon',
      'os_version',
      'vendor',
      'model',
      'bot',
      'id_src',
      'ct',
      'st',
      'ets',
    ]);
  });

  it('decodes the type alone', () => {
    assert.deepEqual(decodeMessageType(line), { ok: true, value: 'app_open' });
    assert.deepEqual(decodeMessageType('a%20b%2Bc x y'), { ok: true, value: 'a b+c' });
    // Kafka hands over UTF-8, but a string built in-process may hold a lone surrogate.
    assert.deepEqual(decodeMessageType('\ud800x y z'), { ok: true, value: '\ufffdx' });
    assert.deepEqual(decodeMessageType('%E0 x y'), {
      ok: false,
      error: 'message: event type is not valid percent-encoding: "%E0"',
    });
    assert.deepEqual(decodeMessageType('app_open'), {
      ok: false,
      error: 'message: expected 3 space-separated fields, got 1',
    });
  });

  const refused: ReadonlyArray<readonly [string, string, string]> = [
    ['one field', 'app_open', 'message: expected 3 space-separated fields, got 1'],
    ['two fields', `app_open ${exampleMeta}`, 'message: expected 3 space-separated fields, got 2'],
    ['four fields', `${line} x`, 'message: expected 3 space-separated fields, got 4'],
    ['a raw space in params', `${line}&a=b c`, 'message: expected 3 space-separated fields, got 4'],
    ['empty type', ` ${exampleMeta} a=1`, 'message: empty event type'],
    [
      'bad percent-encoding in type',
      `app%zz ${exampleMeta} a=1`,
      'message: event type is not valid percent-encoding: "app%zz"',
    ],
    ['type not UTF-8', `%C3 ${exampleMeta} a=1`, 'message: event type is not valid percent-encoding: "%C3"'],
    ['empty meta', 'app_open  a=1', 'message: empty meta'],
    ['missing id', withoutKey('id'), 'meta: missing key "id"'],
    ['missing type', withoutKey('type'), 'meta: missing key "type"'],
    ['missing pod', withoutKey('pod'), 'meta: missing key "pod"'],
    ['duplicate key', withMeta(`${exampleMeta}&ts=1`), 'meta: duplicate key "ts"'],
    ['fractional ts', replaceKey('ts', '1.5'), 'meta: ts is not a non-negative integer: "1.5"'],
    ['negative ts', replaceKey('ts', '-1'), 'meta: ts is not a non-negative integer: "-1"'],
    ['empty ts', replaceKey('ts', ''), 'meta: ts is not a non-negative integer: ""'],
    [
      'ts beyond safe integers',
      replaceKey('ts', '9007199254740993'),
      'meta: ts is not a non-negative integer: "9007199254740993"',
    ],
    ['hex ts', replaceKey('ts', '0x10'), 'meta: ts is not a non-negative integer: "0x10"'],
    ['fractional klag', replaceKey('klag', '1.0'), 'meta: klag is not an integer: "1.0"'],
    [
      'ip not hex',
      replaceKey('ip', '81.169.145.94'),
      'meta: ip: hex "81.169.145.94" has a character other than 0-9 a-f',
    ],
    [
      'ip too long',
      replaceKey('ip', '1'.repeat(33)),
      `meta: ip: hex "${'1'.repeat(33)}" has 33 digits, at most 32 fit in 128 bits`,
    ],
    ['empty ip', replaceKey('ip', ''), 'meta: ip: empty hex'],
    ['bad id', replaceKey('id', '01JD'), 'meta: id is not a ULID: "01JD"'],
    ['NaN lat', withMeta(`${exampleMeta}&lat=NaN`), 'meta: lat is not a finite number: "NaN"'],
    ['infinite lon', withMeta(`${exampleMeta}&lon=1e999`), 'meta: lon is not a finite number: "1e999"'],
    ['empty lat', withMeta(`${exampleMeta}&lat=`), 'meta: lat is not a finite number: ""'],
    ['bot not 0 or 1', withMeta(`${exampleMeta}&bot=true`), 'meta: bot is not 1 or 0: "true"'],
  ];
  for (const [why, input, reason] of refused) {
    it(`refuses ${why}`, () => {
      assert.deepEqual(decodeMessage(input), { ok: false, error: reason });
    });
  }

  it('accepts what other producers may write: keys in any order, "-0" klag', () => {
    const reordered = withMeta(exampleMeta.split('&').reverse().join('&').replace('klag=12', 'klag=-0'));
    const decoded = decodeMessage(reordered);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
    assert.ok(Object.is(decoded.value.meta.klag, 0));
    assert.equal(decoded.value.meta.ts, 1763880000000);
  });

  const programmingErrors: ReadonlyArray<readonly [string, TrackingEvent]> = [
    ['empty type', { ...event, type: '' }],
    ['fractional ts', { ...event, meta: { ...event.meta, ts: 1.5 } }],
    ['negative ts', { ...event, meta: { ...event.meta, ts: -1 } }],
    ['NaN klag', { ...event, meta: { ...event.meta, klag: Number.NaN } }],
    ['ip that is not an IP', { ...event, meta: { ...event.meta, ip: 'localhost' } }],
    ['id that is not a ULID', { ...event, meta: { ...event.meta, id: 'x' } }],
    ['infinite lat', { ...event, meta: { ...event.meta, lat: Number.POSITIVE_INFINITY } }],
    ['NaN lon', { ...event, meta: { ...event.meta, lon: Number.NaN } }],
    ['extra key that is a known key', { ...event, meta: { ...event.meta, extra: [['ts', '1']] } }],
  ];
  for (const [why, bad] of programmingErrors) {
    it(`refuses to encode ${why} with a TypeError`, () => {
      assert.throws(() => encodeMessage(bad), TypeError);
    });
  }
});
