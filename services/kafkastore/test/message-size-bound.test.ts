// The tracker refuses (413) an event whose message could exceed EVENT_MAX_MESSAGE_BYTES, using
// messageBytesBound from @pushtech/event, which reserves room for the meta kafkastore adds. That
// reserve assumes each device field is a piece of the User-Agent plus a few dozen characters of
// the parser's own; checked here against kafkastore's real parser and message writer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeParams, messageBytesBound } from '@pushtech/event';
import { parseDevice } from '../src/device.js';
import type { GeoLocation } from '../src/geo-record.js';
import { createMessageWriter } from '../src/message-writer.js';
import { userAgentCases } from './fixtures/user-agents.js';
import { rawHit } from './helpers/hits.js';

const writer = createMessageWriter({ partitionKey: '' });
// Long names with characters percent-encoding triples, as a GeoIP database may hold.
const geo: GeoLocation = {
  country: 'SJ',
  city: 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch Ḩawmat as Sūq',
  region: 'Provincia Autonoma di Bolzano – Südtirol',
  lat: -33.868820123456,
  lon: 151.209290123456,
};

function assertWithinBound(ua: string, host: string): void {
  const hit = rawHit({ ua, host, params: encodeParams([['v', 'é']]) });
  const { value } = writer.write(hit, parseDevice(ua), geo, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', -12_345_678);
  const bound = messageBytesBound(hit);
  assert.ok(
    Buffer.byteLength(value) <= bound,
    `${Buffer.byteLength(value)} > ${bound} bytes for ${JSON.stringify(ua)}`,
  );
}

const tokens = [
  ...new Set(userAgentCases.flatMap((c) => c.ua.split(/[\s;()]+/)).filter((t) => t !== '')),
  'Googlebot/2.1',
  'curl/8.5.0',
  'Android 14',
  'Build/',
  'Version/',
];

describe('the message size bound the tracker refuses by holds for kafkastore messages', () => {
  it('for the real User-Agents of the fixtures', () => {
    for (const c of userAgentCases) assertWithinBound(c.ua, 't.example.com');
  });

  it('for User-Agents made of their pieces with long and non-ASCII text spliced in', () => {
    const piece = fc.oneof(
      fc.constantFrom(...tokens),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('é', '€', '😀', '_', '.', '/'), maxLength: 600 }),
    );
    const ua = fc.array(piece, { maxLength: 30 }).map((parts) => parts.join(' '));
    fc.assert(
      fc.property(ua, fc.string({ unit: 'grapheme', maxLength: 60 }), (agent, host) => assertWithinBound(agent, host)),
      { numRuns: 500 },
    );
  });
});
