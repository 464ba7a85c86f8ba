/**
 * kafkastore as a child process against the real Redis and Kafka of the test run: the normal
 * flow with enrichment, dead letters, and the sidecar drain on SIGTERM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDeadLetter, decodeMessage, encodeRawHit, type TrackingEvent } from '@pushtech/event';
import { testKafka } from '@pushtech/devstack/testing';
import { geoIpCases } from './fixtures/geoip-cases.js';
import { userAgentCases } from './fixtures/user-agents.js';
import { serviceSetup } from './helpers/env.js';
import { generateGeoIpDb } from './helpers/geoip-db.js';
import { rawHit } from './helpers/hits.js';
import { startService } from './helpers/service.js';
import { readTopic } from './helpers/topic-reader.js';

function decoded(value: Buffer | null): TrackingEvent {
  const result = decodeMessage(value?.toString('utf8') ?? '');
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.value;
}

describe('kafkastore drains Redis into Kafka', () => {
  it('delivers every hit, enriched with GeoIP (city layout) and device data, keyed by deviceid', async (t) => {
    const geoDb = await generateGeoIpDb(t, 'city');
    const setup = await serviceSetup(t, { GEOIP_DB: geoDb, KAFKA_PARTITION_KEY: 'deviceid', KAFKASTORE_BATCH: '100' });
    // Every address with every User-Agent: 13 x 26 hits, each expectation checked per message.
    const hits = geoIpCases.flatMap((geo, g) =>
      userAgentCases.map((ua, u) =>
        rawHit({ ip: geo.ip, ua: ua.ua, params: `deviceid=dev-${g}-${u}&ts=1&referrer=a+b`, type: `open ${g}` }),
      ),
    );
    const expectations = new Map(
      hits.map((hit, i) => [
        hit.id,
        { hit, geo: geoIpCases[Math.floor(i / userAgentCases.length)], ua: userAgentCases[i % userAgentCases.length] },
      ]),
    );
    // Half wait in Redis before the service starts (backlog), half arrive while it blocks.
    const half = Math.floor(hits.length / 2);
    await setup.redis.lpush(setup.queueKey, ...hits.slice(0, half).map(encodeRawHit));

    const service = startService(t, setup.env);
    await service.ready();
    for (const hit of hits.slice(half)) await setup.redis.lpush(setup.queueKey, encodeRawHit(hit));

    const reader = await readTopic(t, await testKafka(), setup.topic);
    await reader.waitForIds(hits.map((h) => h.id));
    assert.equal(reader.messages.length, hits.length, 'no duplicates without a crash');
    for (const message of reader.messages) {
      const id = message.headers['id'] ?? '';
      const expected = expectations.get(id);
      assert.ok(expected?.geo && expected.ua, `unexpected id ${id}`);
      const event = decoded(message.value);
      const { hit, geo, ua } = expected;
      assert.equal(event.type, hit.type);
      assert.equal(event.meta.id, hit.id);
      assert.equal(event.meta.ts, hit.ts);
      assert.equal(event.meta.host, hit.host);
      assert.equal(event.meta.pod, hit.pod);
      assert.ok(Number.isSafeInteger(event.meta.klag) && event.meta.klag >= 0, `klag ${event.meta.klag}`);
      const deviceId = /^deviceid=([^&]*)/.exec(hit.params)?.[1];
      assert.deepEqual(event.params, [
        ['deviceid', deviceId],
        ['ts', '1'],
        ['referrer', 'a b'],
      ]);
      assert.equal(message.key?.toString(), deviceId, 'keyed by KAFKA_PARTITION_KEY');
      const location = {
        country: event.meta.country,
        city: event.meta.city,
        region: event.meta.region,
        lat: event.meta.lat,
        lon: event.meta.lon,
      };
      assert.deepEqual(
        location,
        { region: undefined, lat: undefined, lon: undefined, ...geo.expect },
        `${geo.name} (${hit.ip})`,
      );
      const device = {
        type: event.meta.type,
        browser: event.meta.browser,
        engine: event.meta.engine,
        version: event.meta.version,
        os: event.meta.os,
        osVersion: event.meta.osVersion ?? '',
        vendor: event.meta.vendor ?? '',
        model: event.meta.model ?? '',
        bot: event.meta.bot,
      };
      for (const [field, value] of Object.entries(ua.expect)) {
        assert.equal(device[field as keyof typeof device], value, `${ua.name}: ${field}`);
      }
    }
    assert.equal(await setup.redis.llen(setup.queueKey), 0);
    assert.equal(await setup.redis.llen(setup.processingKey), 0);
    const metrics = await service.metrics();
    assert.match(
      metrics,
      new RegExp(`pushtech_kafkastore_events_produced_total\\{service="kafkastore"\\} ${hits.length}\\b`),
    );
    assert.match(
      metrics,
      /pushtech_kafkastore_cache_lookups_total\{cache="ua",result="hit",service="kafkastore"\} [1-9]/,
    );
  });

  it('reads the flat record layout of the free databases and truncates IPs after the lookup', async (t) => {
    const geoDb = await generateGeoIpDb(t, 'flat');
    const setup = await serviceSetup(t, { GEOIP_DB: geoDb, IP_ANONYMIZE: 'truncate' });
    const hits = geoIpCases.map((geo) => rawHit({ ip: geo.ip }));
    await setup.redis.lpush(setup.queueKey, ...hits.map(encodeRawHit));
    const service = startService(t, setup.env);
    await service.ready();
    const reader = await readTopic(t, await testKafka(), setup.topic);
    await reader.waitForIds(hits.map((h) => h.id));
    const truncated: Record<string, string> = {
      '81.2.69.160': '81.2.69.0',
      '::ffff:81.2.69.1': '81.2.69.0',
      '2a02:8100:1234::1': '2a02:8100:1234::',
      '::1': '::',
      '10.1.2.3': '10.1.2.0',
    };
    for (const message of reader.messages) {
      const event = decoded(message.value);
      const index = hits.findIndex((h) => h.id === event.meta.id);
      const geo = geoIpCases[index];
      assert.ok(geo);
      assert.equal(event.meta.country, geo.expect.country, geo.name);
      assert.equal(event.meta.city, geo.expect.city, geo.name);
      assert.equal(event.meta.region, geo.expect.region, geo.name);
      assert.equal(event.meta.lat, geo.expect.lat, geo.name);
      const expectedIp = truncated[geo.ip];
      if (expectedIp !== undefined) assert.equal(event.meta.ip, expectedIp, geo.name);
      assert.equal(message.key, null, 'no partition key configured');
    }
  });

  it('dead-letters malformed entries with the reason and delivers the good ones around them', async (t) => {
    const started = Date.now();
    const setup = await serviceSetup(t, { KAFKASTORE_BATCH: '7', EVENT_MAX_MESSAGE_BYTES: '20000' });
    const good = Array.from({ length: 40 }, () => rawHit());
    const badHit = rawHit({ ip: '999.1.1.1' });
    const bad: Array<{ entry: string; reason: RegExp }> = [
      { entry: 'not json at all', reason: /not JSON/ },
      { entry: '{"an":"object"}', reason: /expected a JSON array/ },
      { entry: '[3,"x"]', reason: /unsupported version 3/ },
      { entry: '[1,"not-an-id",1,"1.2.3.4","h","p","t","","ua"]', reason: /id is not a ULID/ },
      { entry: encodeRawHit(badHit), reason: /not an IP address/ },
      { entry: encodeRawHit({ ...rawHit(), type: '' }), reason: /empty event type/ },
    ];
    // Over the event limit: dead-lettered whole (an acknowledged event is never cut).
    const huge = rawHit({ params: `deviceid=big&blob=${'x'.repeat(30_000)}` });
    // Oldest first: bad entries between good ones.
    const entries: string[] = [];
    good.forEach((hit, i) => {
      entries.push(encodeRawHit(hit));
      const b = i % 7 === 3 ? bad[Math.floor(i / 7)] : undefined;
      if (b) entries.push(b.entry);
    });
    entries.push(encodeRawHit(huge));
    await setup.redis.lpush(setup.queueKey, ...entries);
    const service = startService(t, setup.env);
    const events = await readTopic(t, await testKafka(), setup.topic);
    const dlq = await readTopic(t, await testKafka(), setup.dlqTopic);
    await events.waitForIds(good.map((h) => h.id));
    await dlq.waitForCount(bad.length + 1);
    const tooBig = dlq.messages.find((m) => m.headers['id'] === huge.id);
    assert.ok(tooBig);
    assert.equal(tooBig.headers['truncated'], undefined);
    assert.equal(tooBig.value?.toString('utf8'), encodeRawHit(huge), 'the dead letter is the whole entry');
    const hugeLetter = decodeDeadLetter(tooBig.headers, tooBig.timestamp);
    assert.ok(hugeLetter.ok, hugeLetter.ok ? '' : hugeLetter.error);
    assert.match(hugeLetter.value.error, /above EVENT_MAX_MESSAGE_BYTES=20000/);
    assert.deepEqual(
      { ...hugeLetter.value, error: '', time: 0 },
      {
        source: 'kafkastore',
        consumer: undefined,
        reason: 'too_large',
        error: '',
        payload: 'raw-entry',
        originalTopic: setup.topic,
        originalPartition: undefined,
        originalOffset: undefined,
        time: 0,
        id: huge.id,
        whole: true,
        legacy: false,
      },
    );
    for (const { entry, reason } of bad) {
      const letter = dlq.messages.find((m) => m.value?.toString('utf8') === entry);
      assert.ok(letter, `dead letter for ${entry}`);
      const decodedLetter = decodeDeadLetter(letter.headers, letter.timestamp);
      assert.ok(decodedLetter.ok, decodedLetter.ok ? '' : decodedLetter.error);
      assert.match(decodedLetter.value.error, reason);
      assert.equal(decodedLetter.value.reason, 'undecodable');
      assert.equal(decodedLetter.value.source, 'kafkastore');
      assert.equal(decodedLetter.value.payload, 'raw-entry');
      assert.equal(decodedLetter.value.originalTopic, setup.topic);
      // The time it was dead-lettered: during this test, before the record was sent.
      assert.ok(decodedLetter.value.time >= started && decodedLetter.value.time <= letter.timestamp);
    }
    assert.equal(
      dlq.messages.find((m) => m.value?.toString('utf8') === encodeRawHit(badHit))?.headers['id'],
      badHit.id,
    );
    assert.equal(events.messages.length, good.length);
    assert.equal(await setup.redis.llen(setup.queueKey), 0);
    assert.equal(await setup.redis.llen(setup.processingKey), 0);
    assert.match(
      await service.metrics(),
      /pushtech_kafkastore_events_dead_lettered_total\{stage="decode",service="kafkastore"\} 6/,
    );
  });

  it('on SIGTERM in sidecar mode drains the incoming list to empty and exits 0', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_DRAIN_ON_EXIT: 'true', KAFKASTORE_BATCH: '50' });
    const service = startService(t, setup.env);
    await service.ready();
    const hits = Array.from({ length: 20_000 }, () => rawHit());
    const entries = hits.map(encodeRawHit);
    for (let i = 0; i < entries.length; i += 5_000)
      await setup.redis.lpush(setup.queueKey, ...entries.slice(i, i + 5_000));
    service.kill('SIGTERM');
    const exit = await service.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(await setup.redis.llen(setup.queueKey), 0, 'incoming list drained');
    assert.equal(await setup.redis.llen(setup.processingKey), 0, 'nothing left in flight');
    const reader = await readTopic(t, await testKafka(), setup.topic);
    await reader.waitForIds(hits.map((h) => h.id));
  });
});
