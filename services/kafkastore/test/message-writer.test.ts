// The message writer must write exactly what encodeMessage writes for the same enriched event:
// it is a faster path to the same wire contract, checked here against the reference encoder.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeParams, encodeMessage, encodeRawHit, type EventMeta, type RawHit } from '@pushtech/event';
import { silentLogger } from '@pushtech/runtime';
import { truncateIp } from '../src/anonymize-ip.js';
import { createDeviceLookup, type Device } from '../src/device.js';
import type { GeoLocation } from '../src/geo-record.js';
import { noGeoIp, openGeoIp, type GeoIp } from '../src/geoip.js';
import { createMessageWriter } from '../src/message-writer.js';
import { createEntryProcessor } from '../src/process-entry.js';
import { geoIpCases } from './fixtures/geoip-cases.js';
import { userAgentCases } from './fixtures/user-agents.js';
import { generateGeoIpDb } from './helpers/geoip-db.js';
import { rawHit } from './helpers/hits.js';

/** The event as the reference encoder takes it: the meta kafkastore builds from its lookups. */
function referenceMessage(hit: RawHit, device: Device, geo: GeoLocation, ip: string, klag: number): string {
  const meta: EventMeta = {
    type: device.type,
    browser: device.browser,
    engine: device.engine,
    version: device.version,
    os: device.os,
    host: hit.host,
    ts: hit.ts,
    ip,
    klag,
    country: geo.country,
    city: geo.city,
    id: hit.id,
    pod: hit.pod,
    bot: device.bot,
    extra: [],
  };
  if (geo.region !== undefined) meta.region = geo.region;
  if (geo.lat !== undefined && geo.lon !== undefined) {
    meta.lat = geo.lat;
    meta.lon = geo.lon;
  }
  if (device.osVersion !== '') meta.osVersion = device.osVersion;
  if (device.vendor !== '') meta.vendor = device.vendor;
  if (device.model !== '') meta.model = device.model;
  return encodeMessage({ type: hit.type, meta, params: decodeParams(hit.params) });
}

const lookupDevice = createDeviceLookup({ cacheSize: 100 });
const params = [
  'deviceid=abcdef&ts=123456&referrer=website',
  '',
  'a',
  'a=1&&b=2',
  'q=a+b&x=%41%zz&u=%C3%A9',
  'name=Jos%C3%A9&=&k=v=w',
  'deviceid=&deviceid=second',
];
const types = ['app_open', 'a b+c', 'ümlaut/?#', '😀'];
const hosts = ['t.example.com', 'host with space', 'ex.com:8080', ''];

describe('the message writer writes what encodeMessage writes', () => {
  const databases: GeoIp[] = [];
  before(async () => {
    for (const layout of ['city', 'flat'] as const) {
      databases.push(
        await openGeoIp({
          files: [await generateGeoIpDb({ after }, layout)],
          cacheSize: 10,
          watchIntervalMs: 60_000,
          logger: silentLogger(),
        }),
      );
    }
  });
  after(() => databases.forEach((db) => db.close()));

  it('for every User-Agent, GeoIP case, params, type and host, with and without truncation', () => {
    const writer = createMessageWriter({ partitionKey: '' });
    let checked = 0;
    for (const geo of [...databases, noGeoIp]) {
      for (const [u, ua] of userAgentCases.entries()) {
        for (const [g, geoCase] of geoIpCases.entries()) {
          const hit = rawHit({
            ua: ua.ua,
            ip: geoCase.ip,
            params: params[(u + g) % params.length] ?? '',
            type: types[(u * 3 + g) % types.length] ?? 'x',
            host: hosts[(u + g * 5) % hosts.length] ?? '',
            pod: g % 2 === 0 ? '10.1.2.3' : 'pod name/1',
          });
          const device = lookupDevice(hit.ua);
          const location = geo.lookup(hit.ip);
          for (const ip of [hit.ip, truncateIp(hit.ip)]) {
            const klag = (u - g) * 7;
            assert.equal(
              writer.write(hit, device, location, ip, klag).value,
              referenceMessage(hit, device, location, ip, klag),
              `${ua.name} / ${geoCase.name}`,
            );
            checked += 1;
          }
        }
      }
    }
    assert.ok(checked > 500, `${checked} combinations`);
  });

  it('for generated hits and locations', () => {
    const writer = createMessageWriter({ partitionKey: '' });
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    const location = fc.record(
      {
        country: text,
        city: text,
        region: text,
        lat: fc.double({ noNaN: true, noDefaultInfinity: true }),
        lon: fc.double({ noNaN: true, noDefaultInfinity: true }),
      },
      { requiredKeys: ['country', 'city'] },
    );
    const device = fc.record({
      type: text,
      browser: text,
      engine: text,
      version: text,
      os: text,
      osVersion: text,
      vendor: text,
      model: text,
      bot: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.record({
          type: text.filter((t) => t !== ''),
          host: text,
          pod: text,
          params: fc.oneof(
            fc.string({ maxLength: 30 }),
            fc.stringMatching(/^[a-z]{1,3}=[a-z0-9]{0,3}(&[a-z]=[0-9]*){0,3}$/),
          ),
          ts: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          klag: fc.integer({ min: -1e9, max: 1e9 }),
          ip: fc.oneof(fc.ipV4(), fc.constantFrom('::1', '2001:db8::1', '::ffff:1.2.3.4')),
        }),
        device,
        location,
        (h, d, g) => {
          const hit = rawHit({ type: h.type, host: h.host, pod: h.pod, params: h.params, ts: h.ts, ip: h.ip });
          // Frozen like the lookups' own results; a fresh object each time, as on a cache miss.
          const dev = Object.freeze({ ...d });
          const loc = Object.freeze({ ...g });
          assert.equal(writer.write(hit, dev, loc, h.ip, h.klag).value, referenceMessage(hit, dev, loc, h.ip, h.klag));
          // The same objects again come from the writer's memo of their fragments.
          assert.equal(writer.write(hit, dev, loc, h.ip, h.klag).value, referenceMessage(hit, dev, loc, h.ip, h.klag));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds the partition key as decodeParams would, canonical text or not', () => {
    const writer = createMessageWriter({ partitionKey: '' });
    assert.equal(writer.paramValue('deviceid=abc&x=1', 'deviceid'), 'abc');
    assert.equal(writer.paramValue('x=1&deviceid=abc', 'deviceid'), 'abc');
    assert.equal(writer.paramValue('xdeviceid=1&deviceid=abc', 'deviceid'), 'abc');
    assert.equal(
      writer.paramValue('deviceid=&deviceid=abc', 'deviceid'),
      null,
      'the first value counts, empty is none',
    );
    assert.equal(writer.paramValue('device+id=a+b&deviceid=J%C3%A9', 'deviceid'), 'Jé');
    assert.equal(writer.paramValue('device+id=a+b', 'device id'), 'a b');
    assert.equal(writer.paramValue('x=1', 'deviceid'), null);
    assert.equal(writer.paramValue('', 'deviceid'), null);
  });

  it('refuses, as a dead letter and not a crash, what the reference encoder would refuse', () => {
    const processEntry = createEntryProcessor({
      lookupGeo: () => Object.freeze({ country: 'DE', city: 'Berlin', lat: Number.NaN, lon: 1 }),
      lookupDevice,
      anonymizeIp: (ip) => ip,
      partitionKey: '',
      maxMessageBytes: 1_000_000,
    });
    const outcome = processEntry(encodeRawHit(rawHit()), Date.now());
    assert.equal(outcome.kind, 'dead-letter');
    assert.equal(outcome.kind === 'dead-letter' ? outcome.stage : '', 'encode');
  });
});
