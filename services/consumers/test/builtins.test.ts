import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { ConsumedEvent, ConsumerContext, ConsumerDefinition } from '@pushtech/consumer-kit';
import { runConsumer, sampleEvent } from '@pushtech/consumer-kit/testing';
import { archiver } from '../src/consumers/archiver.js';
import { eventCounter } from '../src/consumers/event-counter.js';
import { metadataCounter } from '../src/consumers/metadata-counter.js';
import { statsCollector } from '../src/consumers/stats-collector.js';
import { minuteOf } from '../src/time-buckets.js';
import { archiveFiles, readArchive } from './helpers.js';

// Two known minutes, an hour apart, so per-minute and per-hour partitioning are both exercised.
const minuteA = Date.UTC(2025, 2, 14, 8, 15, 0);
const minuteB = Date.UTC(2025, 2, 14, 9, 40, 0);

/** 12 events: 7 app_open (4 in minute A), 5 purchase; known countries, OSes, browsers, devices, klags. */
function knownEvents() {
  return [
    ...[5, 10, 20, 40].map((klag, i) =>
      sampleEvent({ type: 'app_open', meta: { ts: minuteA + i * 1000, klag, country: 'DE', os: 'iOS' } }),
    ),
    ...[100, 200, 400].map((klag, i) =>
      sampleEvent({
        type: 'app_open',
        meta: { ts: minuteB + i * 1000, klag, country: 'FR', os: 'Android', browser: 'Chrome', type: 'Tablet' },
      }),
    ),
    ...[1, 2, 3, 4, 5000].map((klag, i) =>
      sampleEvent({
        type: 'purchase',
        meta: { ts: minuteB + 5000 + i, klag, country: '', os: 'Windows', browser: 'Edge', type: 'Desktop' },
      }),
    ),
  ];
}

/** The consumer, failing at random after its effect: the worst moment for a replay. */
function flaky<C>(definition: ConsumerDefinition<C>, probability: number): ConsumerDefinition<C> {
  return {
    ...definition,
    async handleBatch(events, ctx) {
      await definition.handleBatch(events, ctx);
      if (Math.random() < probability) throw new Error('random failure after the effect');
    },
  };
}

describe('built-in consumers after a known set of events', () => {
  it('event_counter counts per type and per minute', async (t) => {
    const h = await runConsumer(t, eventCounter, knownEvents());
    const key = `${h.keyPrefix}:event_counter`;
    assert.deepEqual(await h.redis.hgetall(`${key}:total`), { app_open: '7', purchase: '5' });
    assert.deepEqual(await h.redis.hgetall(`${key}:minute:${minuteA}`), { app_open: '4' });
    assert.deepEqual(await h.redis.hgetall(`${key}:minute:${minuteB}`), { app_open: '3', purchase: '5' });
    assert.ok((await h.redis.ttl(`${key}:minute:${minuteA}`)) > 0, 'minute keys expire');
  });

  it('event_counter stays exact when the handler throws at random (replays)', async (t) => {
    const events = Array.from({ length: 600 }, (_, i) => sampleEvent({ type: `e${i % 3}`, meta: { ts: minuteA } }));
    const h = await runConsumer(t, flaky(eventCounter, 0.3), events, { env: { CONSUMER_MAX_RETRIES: '30' } });
    const key = `${h.keyPrefix}:event_counter`;
    assert.deepEqual(await h.redis.hgetall(`${key}:total`), { e0: '200', e1: '200', e2: '200' });
    assert.deepEqual(await h.redis.hgetall(`${key}:minute:${minuteA}`), { e0: '200', e1: '200', e2: '200' });
  });

  it('event_counter: a poison message is dead-lettered and the rest is counted', async (t) => {
    const events = knownEvents();
    const h = await runConsumer(t, eventCounter, [...events.slice(0, 6), 'app_open %%%broken% x', ...events.slice(6)]);
    assert.deepEqual(await h.redis.hgetall(`${h.keyPrefix}:event_counter:total`), { app_open: '7', purchase: '5' });
    const [letter] = await h.deadLetters(1);
    assert.equal(letter?.value?.toString(), 'app_open %%%broken% x');
    assert.equal(letter?.headers['consumer'], 'event_counter');
    assert.equal(letter?.headers['original_topic'], h.topic);
    assert.ok((letter?.headers['error'] ?? '').length > 0);
  });

  it('metadata_counter counts by country, os, browser and device type, and stores no IP', async (t) => {
    const h = await runConsumer(t, flaky(metadataCounter, 0.2), knownEvents(), {
      env: { CONSUMER_MAX_RETRIES: '30' },
    });
    const key = `${h.keyPrefix}:metadata_counter`;
    assert.deepEqual(await h.redis.hgetall(`${key}:country`), { DE: '4', FR: '3', unknown: '5' });
    assert.deepEqual(await h.redis.hgetall(`${key}:os`), { iOS: '4', Android: '3', Windows: '5' });
    assert.deepEqual(await h.redis.hgetall(`${key}:browser`), { Safari: '4', Chrome: '3', Edge: '5' });
    assert.deepEqual(await h.redis.hgetall(`${key}:device`), { Mobile: '4', Tablet: '3', Desktop: '5' });
    const keys = await h.redis.keys(`${h.keyPrefix}:metadata_counter*`);
    assert.deepEqual(
      keys.sort(),
      ['browser', 'country', 'device', 'os'].map((d) => `${key}:${d}`),
    );
    for (const k of keys) {
      const all = JSON.stringify(await h.redis.hgetall(k));
      assert.ok(!all.includes('192.0.2.1'), `${k} holds no IP`);
    }
  });

  it('stats_collector writes per-minute throughput and klag percentiles', async (t) => {
    const h = await runConsumer(t, statsCollector, knownEvents());
    const key = `${h.keyPrefix}:stats_collector`;
    const a = await h.redis.hgetall(`${key}:minute:${minuteA}`);
    assert.deepEqual(
      { count: a['count'], sum: a['klag_sum'], p50: a['p50'], p90: a['p90'], p99: a['p99'], mean: a['mean'] },
      { count: '4', sum: '75', p50: '10', p90: '50', p99: '50', mean: '18.8' },
    );
    const b = await h.redis.hgetall(`${key}:minute:${minuteB}`);
    assert.deepEqual(
      { count: b['count'], p50: b['p50'], p90: b['p90'], p99: b['p99'] },
      { count: '8', p50: '5', p90: '5000', p99: '5000' },
    );
    // Outside retention (old fixed minutes) the index is trimmed; recent minutes stay listed.
    const recent = sampleEvent({ meta: { ts: Date.now() } });
    await h.produce([recent]);
    await h.waitUntilHandled();
    assert.deepEqual(await h.redis.zrange(`${key}:minutes`, 0, -1), [String(minuteOf(recent.meta.ts))]);
  });

  it('archiver writes hour-partitioned ndjson.gz files holding every event', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'archive-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const events = knownEvents();
    await runConsumer(t, archiver, events, { env: { ARCHIVE_DIR: dir } });
    const files = archiveFiles(dir);
    assert.ok(files.length > 0);
    for (const f of files) assert.match(f, /^2025\/03\/14\/(08|09)\/[\w.-]+-\d+-\d+\.ndjson\.gz$/);
    const archived = readArchive(dir);
    assert.deepEqual(archived.map((e) => e.id).sort(), events.map((e) => e.meta.id).sort());
    const first = archived.find((e) => e.id === events[0]?.meta.id);
    assert.equal(first?.type, 'app_open');
    assert.equal(first?.ts, minuteA);
    assert.match(first?.message ?? '', /^app_open type=Mobile&/);
    const hour8 = files.filter((f) => f.startsWith('2025/03/14/08/'));
    const in8 = hour8.flatMap((f) =>
      gunzipSync(readFileSync(path.join(dir, f)))
        .toString('utf8')
        .trim()
        .split('\n'),
    );
    assert.equal(in8.length, 4, 'events go to the hour of their receive time');
  });

  it('archiver: a replay with other batch boundaries rewrites files, never adds copies', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'archive-replay-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // Offsets 100..179 of one partition, the hour changing at offset 160.
    const consumed = Array.from({ length: 80 }, (_, i): ConsumedEvent => {
      const event = sampleEvent({ type: 'app_open', meta: { ts: (i < 60 ? minuteA : minuteB) + i } });
      return {
        id: event.meta.id,
        type: event.type,
        meta: event.meta,
        params: event.params,
        receivedAt: event.meta.ts,
        producedAt: event.meta.ts,
        message: `app_open ${event.meta.id}`,
        source: { topic: 'events', partition: 3, offset: String(100 + i) },
      };
    });
    const config = { ARCHIVE_DIR: dir, ARCHIVE_FETCH_LINGER_MS: 0 };
    const ctx = { config } as unknown as ConsumerContext<typeof config>;
    const handle = (from: number, to: number): Promise<void> =>
      archiver.handleBatch(consumed.slice(from - 100, to - 100 + 1), ctx);
    // Written, then the process died before the commit: read again from offset 100, in batches
    // of other sizes (a shorter one, then one across the hour), as a fetch after a restart may
    // return. The commit is awaited after every batch, so only the last batch can come again.
    await handle(100, 169);
    await handle(100, 129);
    await handle(130, 149);
    // Died again before committing 130..149: this time the replay is longer than the batch.
    await handle(130, 179);
    const ids = readArchive(dir).map((e) => e.id);
    assert.equal(ids.length, new Set(ids).size, `${ids.length - new Set(ids).size} events archived twice`);
    assert.deepEqual([...ids].sort(), consumed.map((e) => e.id).sort());
  });
});
