import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  META_DEVICE_NAME_BYTES,
  encodeMessage,
  encodeParams,
  messageBytesAbove,
  messageBytesBound,
  type EventMeta,
} from '../src/index.js';
import { canonicalAddress, paramList, text } from './arbitraries.js';

/** A piece of `ua` with at most META_DEVICE_NAME_BYTES of ASCII the parser may add. */
function deviceField(ua: string): fc.Arbitrary<string> {
  return fc
    .tuple(fc.nat(), fc.nat(), fc.string({ maxLength: META_DEVICE_NAME_BYTES, unit: fc.constantFrom(...'Az .-_/') }))
    .map(([a, b, added]) => {
      const start = ua.length === 0 ? 0 : a % ua.length;
      const piece = ua.slice(start, start + (b % (ua.length + 1)));
      // Slicing may split a surrogate pair; the message writer then encodes U+FFFD (9 bytes).
      return `${added}${piece}`;
    });
}

const shortName = text().map((s) => s.slice(0, 100));

describe('the Kafka message size bound', () => {
  it('no message kafkastore can write from a hit is larger than messageBytesBound', () => {
    const parts = fc.record({
      type: text({ minLength: 1 }),
      params: paramList.map((list) => encodeParams(list)),
      host: text(),
      pod: text(),
      ua: text(),
    });
    const event = parts.chain((p) =>
      fc
        .record({
          device: fc.array(deviceField(p.ua), { minLength: 7, maxLength: 7 }),
          geo: fc.tuple(shortName, shortName, shortName),
          coordinates: fc.tuple(
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
          ),
          ip: canonicalAddress,
          id: fc.ulid(),
          ts: fc.maxSafeNat(),
          klag: fc.maxSafeInteger(),
          // The client's fields (_id, _ct, _st) add id_src, ct, st and ets to the meta.
          times: fc.array(fc.maxSafeNat(), { minLength: 3, maxLength: 3 }),
        })
        .map(({ device, geo, coordinates, ip, id, ts, klag, times }) => {
          const [browser = '', engine = '', version = '', os = '', osVersion = '', vendor = '', model = ''] = device;
          const meta: EventMeta = {
            type: 'Embedded',
            browser,
            engine,
            version,
            os,
            host: p.host,
            ts,
            ip,
            klag,
            country: geo[0],
            city: geo[1],
            id,
            pod: p.pod,
            region: geo[2],
            lat: coordinates[0],
            lon: coordinates[1],
            osVersion,
            vendor,
            model,
            bot: true,
            idSource: 'client',
            createdAt: times[0] ?? 0,
            sentAt: times[1] ?? 0,
            eventTime: times[2] ?? 0,
            extra: [],
          };
          return { parts: p, message: encodeMessage({ type: p.type, meta, params: [] }) + p.params };
        }),
    );
    fc.assert(
      fc.property(event, ({ parts, message }) => {
        assert.ok(Buffer.byteLength(message) <= messageBytesBound(parts), `${message.length} bytes`);
      }),
      { numRuns: 1000 },
    );
  });

  it('messageBytesAbove answers the bound exactly when it is over the limit, from lengths alone when they suffice', () => {
    const parts = fc.record({
      type: text({ minLength: 1 }),
      params: paramList.map((list) => encodeParams(list)),
      host: text(),
      pod: text(),
      ua: text(),
    });
    fc.assert(
      fc.property(parts, fc.integer({ min: 4_000, max: 12_000 }), (p, limit) => {
        const bound = messageBytesBound(p);
        assert.equal(messageBytesAbove(p, limit), bound > limit ? bound : undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it('a 340 KB JSON string of "é" is a message of three times that once encoded', () => {
    const value = 'é'.repeat(170_000);
    const params = encodeParams([['v', value]]);
    const parts = { type: 'big', params, host: 't.example.com', pod: '10.1.2.3', ua: 'curl/8' };
    assert.ok(params.length > 1_000_000);
    assert.ok((messageBytesAbove(parts, 1_000_000) ?? 0) > params.length);
    assert.equal(messageBytesAbove({ ...parts, params: 'v=1' }, 1_000_000), undefined);
  });
});
