import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp, decodeParams, encodeParams } from '@pushtech/event';
import { parseBatch } from '../src/batch.js';
import { compileEventSchemas } from '../src/event-schemas.js';
import { decodeEventName } from '../src/event-name.js';
import { HttpError } from '../src/http-error.js';
import { peerAddress } from '../src/http-exchange.js';
import { createRateLimiter } from '../src/rate-limit.js';
import { redirectTarget } from '../src/redirect.js';
import { bodyParams } from '../src/request-params.js';
import { isCanonicalQuery } from '../src/tracking.js';
import { createWriteKeys } from '../src/write-keys.js';

function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  assert.fail('expected an HttpError');
}

describe('decodeEventName', () => {
  const good: [string, string][] = [
    ['app_open', 'app_open'],
    ['caf%C3%A9', 'café'],
    ['a%20b', 'a b'],
    ['%F0%9F%9A%80', '🚀'],
    ['x'.repeat(128), 'x'.repeat(128)],
  ];
  for (const [raw, name] of good) it(`accepts ${raw.slice(0, 20)}`, () => assert.equal(decodeEventName(raw), name));

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['x'.repeat(129), /129 bytes long; at most 128/],
    ['%C3%A9'.repeat(65), /130 bytes long/],
    ['a%01b', /control character U\+0001/],
    ['a%7F', /control character U\+007F/],
    ['a%0Ab', /U\+000A/],
    ['%E0%A4%A', /not valid percent-encoded UTF-8/],
    ['%FF', /not valid percent-encoded UTF-8/],
    ['%ZZ', /not valid percent-encoded UTF-8/],
  ];
  for (const [raw, reason] of bad) {
    it(`refuses ${JSON.stringify(raw.slice(0, 20))}`, () => {
      const error = refusal(() => decodeEventName(raw));
      assert.equal(error.status, 400);
      assert.match(error.detail, reason);
    });
  }
});

describe('bodyParams', () => {
  const table: [string, string, [string, string][]][] = [
    [
      'application/x-www-form-urlencoded',
      'a=1&b=two+words',
      [
        ['a', '1'],
        ['b', 'two words'],
      ],
    ],
    [
      'application/json',
      '{"a":1,"b":true,"c":"x","d":null}',
      [
        ['a', '1'],
        ['b', 'true'],
        ['c', 'x'],
      ],
    ],
    ['application/json; charset=utf-8', '{"a":"é"}', [['a', 'é']]],
    ['text/plain;charset=UTF-8', '{"deviceid":"abc"}', [['deviceid', 'abc']]],
    ['text/plain', 'a=1', [['a', '1']]],
    ['application/json', '', []],
  ];
  for (const [type, body, expected] of table) {
    it(`${type}: ${body}`, () => assert.deepEqual(bodyParams(type, body), expected));
  }

  it('refuses malformed JSON with the parser reason', () => {
    const error = refusal(() => bodyParams('application/json', '{"a":'));
    assert.equal(error.status, 400);
    assert.equal(error.error, 'malformed JSON');
    assert.match(error.detail, /^body: /);
  });

  it('refuses nested values, naming the key', () => {
    assert.match(
      refusal(() => bodyParams('application/json', '{"a":{"b":1}}')).detail,
      /body\.a must be a string, number or boolean, not an object/,
    );
    assert.match(refusal(() => bodyParams('application/json', '[1]')).detail, /body must be a JSON object/);
  });

  it('refuses other content types with 415', () => {
    assert.equal(refusal(() => bodyParams('application/xml', '<a/>')).status, 415);
  });
});

describe('parseBatch', () => {
  it('reads a JSON array and NDJSON alike', () => {
    const items = [
      { type: 'a', params: [['x', '1']] },
      { type: 'b', params: [] },
    ];
    assert.deepEqual(parseBatch('[{"event":"a","params":{"x":1}},{"event":"b"}]'), items);
    assert.deepEqual(parseBatch('{"event":"a","params":{"x":1}}\n\n{"event":"b"}\n'), items);
  });

  const bad: [string, string, number, RegExp][] = [
    ['empty body', '  ', 400, /the body is empty/],
    ['empty array', '[]', 400, /holds no events/],
    ['not an array', '{"event":"a"', 400, /NDJSON line 1/],
    ['missing event', '[{"event":"a"},{"params":{}}]', 400, /^item 1: "event" must be a string/],
    ['bad name', '[{"event":"a"},{"event":"b"},{"event":""}]', 400, /^item 2: the event name is empty/],
    [
      'nested param',
      '[{"event":"a","params":{"x":[1]}}]',
      400,
      /^item 0: params\.x must be a string, number or boolean, not an array/,
    ],
    ['item not an object', '[1]', 400, /^item 0: expected an object/],
    ['bad NDJSON line', '{"event":"a"}\n{oops}', 400, /NDJSON line 2/],
    [
      'control character',
      '[{"event":"a\\u0000"}]',
      400,
      /^item 0: the event name contains the control character U\+0000/,
    ],
    ['lone surrogate', '[{"event":"a\\ud800"}]', 400, /lone UTF-16 surrogate/],
  ];
  for (const [name, body, status, detail] of bad) {
    it(`refuses ${name}`, () => {
      const error = refusal(() => parseBatch(body));
      assert.equal(error.status, status);
      assert.match(error.detail, detail);
    });
  }

  it('refuses more than 1000 events with 413', () => {
    const body = JSON.stringify(Array.from({ length: 1001 }, () => ({ event: 'a' })));
    assert.equal(refusal(() => parseBatch(body)).status, 413);
    assert.equal(parseBatch(JSON.stringify(Array.from({ length: 1000 }, () => ({ event: 'a' })))).length, 1000);
  });
});

describe('redirectTarget', () => {
  const hosts = ['example.com', '*.shop.example'];
  it('allows listed hosts and subdomains of wildcards', () => {
    assert.equal(redirectTarget('https://example.com/a?b=1', hosts), 'https://example.com/a?b=1');
    assert.equal(redirectTarget('http://www.shop.example/x', hosts), 'http://www.shop.example/x');
  });
  const bad: [string | undefined, RegExp][] = [
    [undefined, /missing/],
    ['https://evil.com/', /redirects to evil\.com are not allowed/],
    ['https://example.com.evil.com/', /not allowed/],
    ['https://shop.example/', /not allowed/],
    ['javascript:alert(1)', /must be an http\(s\) URL/],
    ['//example.com/x', /not an absolute URL/],
    ['https://evil.com\\@example.com', /not allowed/],
  ];
  for (const [to, reason] of bad) {
    it(`refuses ${String(to)}`, () => assert.match(refusal(() => redirectTarget(to, hosts)).detail, reason));
  }
});

describe('event schemas', () => {
  const schemas = compileEventSchemas(
    { events: { click: { required: ['deviceid'], allowed: { description: ['CLICK', 'VIEW'] } } } },
    'schemas.json',
  );
  it('accepts events that follow their schema, and unknown events by default', () => {
    assert.equal(
      schemas.check('click', [
        ['deviceid', 'a'],
        ['description', 'VIEW'],
      ]),
      undefined,
    );
    assert.equal(schemas.check('other', []), undefined);
  });
  it('names the missing param and the allowed values', () => {
    assert.equal(schemas.check('click', []), 'event "click" requires the param "deviceid"');
    assert.equal(
      schemas.check('click', [
        ['deviceid', 'a'],
        ['description', 'HOVER'],
      ]),
      'event "click": param "description" must be one of CLICK, VIEW (got "HOVER")',
    );
  });
  it('can refuse unknown event types', () => {
    const strict = compileEventSchemas({ events: {}, unknownEvents: 'reject' }, 's.json');
    assert.match(strict.check('x', []) ?? '', /not in the schema file/);
  });
  it('reports a malformed schema file with its name', () => {
    assert.throws(
      () => compileEventSchemas({ events: { a: { required: 'x' } } }, 's.json'),
      /^Error: s\.json: events\.a\.required must be an array of strings$/,
    );
    assert.throws(() => compileEventSchemas([], 's.json'), /s\.json: expected/);
  });
});

describe('write keys and rate limit', () => {
  it('accepts only configured keys, and everything when none are configured', () => {
    const keys = createWriteKeys(['k1', 'k2']);
    assert.equal(keys.accepts('k2'), true);
    assert.equal(keys.accepts('k3'), false);
    assert.equal(keys.accepts(''), false);
    assert.equal(keys.accepts(undefined), false);
    assert.equal(createWriteKeys([]).accepts(undefined), true);
  });

  it('lets a burst through, then refills at the configured rate', () => {
    const limiter = createRateLimiter(10, 3);
    const t0 = 1_000_000;
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.take('a', 1, t0)),
      [0, 0, 0, 1],
    );
    assert.equal(limiter.take('b', 1, t0), 0, 'another client has its own bucket');
    assert.equal(limiter.take('a', 1, t0 + 100), 0, '100 ms refill one token at 10/s');
    assert.equal(limiter.take('a', 1, t0 + 100), 1);
    assert.equal(limiter.take('a', 5, t0 + 10_000), Number.POSITIVE_INFINITY, 'never more than the burst at once');
    limiter.close();
  });
});

describe('hot-path shortcuts agree with the general path', () => {
  it('a query accepted as canonical is exactly what decoding and re-encoding it gives', () => {
    const char = fc.constantFrom(..."abcXYZ019_.!~*'()-%+ &=é".split(''));
    const word = fc.string({ unit: char, maxLength: 6 });
    const query = fc
      .array(fc.tuple(word, word), { maxLength: 5 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
    fc.assert(
      fc.property(fc.oneof(query, fc.string({ unit: char })), (q) => {
        if (isCanonicalQuery(q)) assert.equal(encodeParams(decodeParams(q)), q);
      }),
      { numRuns: 3000 },
    );
    assert.equal(isCanonicalQuery('deviceid=abc&ts=1'), true);
    assert.equal(isCanonicalQuery('a=b+c'), false);
    assert.equal(isCanonicalQuery('a=%41'), false);
    assert.equal(isCanonicalQuery('a&b=1'), false);
    assert.equal(isCanonicalQuery('x=1&write_key=k'), false);
  });

  it('peer addresses from their binary form match the canonical text of the event package', () => {
    const table: [number[], string][] = [
      [[127, 0, 0, 1], '127.0.0.1'],
      [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3], '10.1.2.3'],
      [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '::1'],
      [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42], '2001:db8::42'],
      [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8:0:1::1'],
      [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], 'fe80::1:0:0:1'],
    ];
    for (const [bytes, text] of table) {
      assert.equal(peerAddress(new Uint8Array(bytes).buffer), text);
      assert.deepEqual(canonicalIp(text), { ok: true, value: text });
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = peerAddress(bytes.slice().buffer);
        assert.deepEqual(canonicalIp(text), { ok: true, value: text });
      }),
      { numRuns: 2000 },
    );
  });
});
