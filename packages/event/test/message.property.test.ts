import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeMessage, decodeMessageType, encodeMessage, type TrackingEvent } from '../src/index.js';
import { decodeMeta } from '../src/meta.js';
import { toWellFormed } from '../src/well-formed.js';
import { mutated, textWithLoneSurrogates, trackingEvent } from './arbitraries.js';
import { referenceCanonicalIp } from './reference-ip.js';

function assertWireShape(message: string): void {
  const fields = message.split(' ');
  assert.equal(fields.length, 3, 'exactly 2 spaces');
  const [type = '', meta = '', params = ''] = fields;
  assert.notEqual(type, '');
  assert.notEqual(meta, '');
  for (const field of fields) assert.doesNotMatch(field, /[\s\p{Cc}]/u);
  assert.match(type, /^[A-Za-z0-9\-_.!~*'()%]+$/);
  assert.match(meta, /^[A-Za-z0-9\-_.!~*'()%+=&]+$/);
  assert.match(params, /^[A-Za-z0-9\-_.!~*'()%+=&]*$/);
}

describe('Kafka message properties', () => {
  it('decode(encode(x)) = x for arbitrary events, and the wire has three space-free fields', () => {
    fc.assert(
      fc.property(trackingEvent, (event) => {
        const message = encodeMessage(event);
        assertWireShape(message);
        assert.equal(message.endsWith(' '), event.params.length === 0);
        assert.deepEqual(decodeMessage(message), { ok: true, value: event });
        assert.deepEqual(decodeMessageType(message), { ok: true, value: event.type });
      }),
      { numRuns: 2000 },
    );
  });

  it('lone surrogates come back as U+FFFD', () => {
    const withSurrogates = fc
      .tuple(
        trackingEvent,
        textWithLoneSurrogates.filter((s) => s !== ''),
        textWithLoneSurrogates,
        textWithLoneSurrogates,
      )
      .map(([event, type, city, value]): TrackingEvent => ({
        type,
        meta: { ...event.meta, city, extra: [['x', value]] },
        params: [[value, city]],
      }));
    fc.assert(
      fc.property(withSurrogates, (event) => {
        const message = encodeMessage(event);
        assertWireShape(message);
        const expected: TrackingEvent = {
          type: toWellFormed(event.type),
          meta: { ...event.meta, city: toWellFormed(event.meta.city), extra: wellFormedPairs(event.meta.extra) },
          params: wellFormedPairs(event.params),
        };
        assert.deepEqual(decodeMessage(message), { ok: true, value: expected });
      }),
      { numRuns: 500 },
    );
  });

  it('takes any address text and gives it back canonical', () => {
    fc.assert(
      fc.property(trackingEvent, fc.ipV6(), (event, ip) => {
        const decoded = decodeMessage(encodeMessage({ ...event, meta: { ...event.meta, ip } }));
        assert.ok(decoded.ok);
        assert.equal(decoded.value.meta.ip, referenceCanonicalIp(ip));
      }),
    );
  });

  it('the decoder never throws on garbage, and gives a one-line reason', () => {
    const garbage = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      textWithLoneSurrogates,
      mutated(trackingEvent.map(encodeMessage)),
    );
    fc.assert(
      fc.property(garbage, (input) => {
        for (const result of [decodeMessage(input), decodeMessageType(input)]) {
          if (!result.ok) assert.match(result.error, /^(message|meta): [^\n\r\u2028\u2029]+$/);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('meta decodes the same whether its keys stand in wire order or not', () => {
    // decodeMeta reads keys in wire order where they stand, and the rest pair by pair. An empty
    // pair first (which the urlencoded rules skip) sends the whole field pair by pair: both
    // must give the same event, or the same reason, for in-order, reordered and broken fields.
    const metaField = trackingEvent.map((event) => encodeMessage(event).split(' ')[1] ?? '');
    const reordered = fc.tuple(metaField, fc.nat(), fc.nat(), fc.boolean()).map(([field, from, to, duplicate]) => {
      const pairs = field.split('&');
      const moved = pairs.splice(from % pairs.length, 1)[0] ?? '';
      pairs.splice(to % (pairs.length + 1), 0, moved);
      if (duplicate) pairs.push(moved);
      return pairs.join('&');
    });
    fc.assert(
      fc.property(fc.oneof(metaField, reordered, mutated(metaField)), (field) => {
        assert.deepEqual(decodeMeta(field), decodeMeta(`&${field}`));
      }),
      { numRuns: 3000 },
    );
  });

  it('whatever decodes re-encodes to a message that decodes to the same event', () => {
    fc.assert(
      fc.property(mutated(trackingEvent.map(encodeMessage)), (input) => {
        const decoded = decodeMessage(input);
        if (!decoded.ok) return;
        const again = encodeMessage(decoded.value);
        assertWireShape(again);
        assert.deepEqual(decodeMessage(again), decoded);
      }),
      { numRuns: 1000 },
    );
  });
});

function wellFormedPairs(list: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  return list.map(([name, value]) => [toWellFormed(name), toWellFormed(value)]);
}
