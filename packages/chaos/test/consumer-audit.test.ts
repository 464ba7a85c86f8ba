import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { auditArchive, auditCounts, readArchiveDir } from '../src/consumer-audit.js';
import { metricMax, watchOps } from '../src/ops-sampler.js';

const map = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

describe('auditCounts', () => {
  const table: {
    name: string;
    expected: Record<string, number> | number;
    counted: Record<string, number>;
    want: { counted: number; overCounted: number; underCounted: number };
  }[] = [
    {
      name: 'each event once',
      expected: { app_open: 3, click: 2 },
      counted: { app_open: 3, click: 2 },
      want: { counted: 5, overCounted: 0, underCounted: 0 },
    },
    {
      name: 'a double count of one type does not hide behind a miss of another',
      expected: { app_open: 3, click: 2 },
      counted: { app_open: 4, click: 1 },
      want: { counted: 5, overCounted: 1, underCounted: 1 },
    },
    {
      name: 'a type no event has is over-counted',
      expected: { app_open: 1 },
      counted: { app_open: 1, ghost: 2 },
      want: { counted: 3, overCounted: 2, underCounted: 0 },
    },
    {
      name: 'a missing counter is an under-count of everything',
      expected: { app_open: 2 },
      counted: {},
      want: { counted: 0, overCounted: 0, underCounted: 2 },
    },
    {
      name: 'against a plain total only the sum is compared',
      expected: 5,
      counted: { DE: 3, FR: 4 },
      want: { counted: 7, overCounted: 2, underCounted: 0 },
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const expected = typeof c.expected === 'number' ? c.expected : map(c.expected);
      const audit = auditCounts(expected, map(c.counted));
      assert.deepEqual(
        { counted: audit.counted, overCounted: audit.overCounted, underCounted: audit.underCounted },
        c.want,
      );
      assert.equal(audit.sample.length === 0, c.want.overCounted === 0 && c.want.underCounted === 0);
    });
  }
});

describe('auditArchive', () => {
  it('counts events archived once, missing, extra copies and ids not in the topic', () => {
    const audit = auditArchive(['a', 'b', 'c', 'd'], map({ a: 1, b: 3, d: 1, stranger: 1 }));
    assert.equal(audit.expected, 4);
    assert.equal(audit.archivedOnce, 2);
    assert.equal(audit.missing, 1);
    assert.deepEqual(audit.missingSample, ['c']);
    assert.equal(audit.duplicated, 2);
    assert.deepEqual(audit.duplicatedSample, ['b']);
    assert.equal(audit.unexpected, 1);
  });
});

describe('readArchiveDir', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chaos-archive-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ids from every .ndjson.gz file, lists .tmp files, reports torn files', () => {
    const hour = path.join(dir, '2026', '12', '03', '09');
    mkdirSync(hour, { recursive: true });
    const lines = (ids: string[]): Buffer =>
      gzipSync(ids.map((id) => `${JSON.stringify({ id, type: 't' })}\n`).join(''));
    writeFileSync(path.join(hour, 'events-0-0-1.ndjson.gz'), lines(['a', 'b']));
    writeFileSync(path.join(hour, 'events-1-0-0.ndjson.gz'), lines(['b']));
    writeFileSync(path.join(hour, 'events-2-0-0.ndjson.gz.123.tmp'), lines(['c']));
    writeFileSync(path.join(hour, 'events-2-1-1.ndjson.gz'), Buffer.from('not gzip'));
    writeFileSync(path.join(dir, '.disk-pressure-filler'), Buffer.alloc(10));

    const contents = readArchiveDir(dir);
    assert.equal(contents.files, 3);
    assert.deepEqual(
      [...contents.ids],
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    assert.deepEqual(contents.temporary, [path.join('2026', '12', '03', '09', 'events-2-0-0.ndjson.gz.123.tmp')]);
    assert.equal(contents.unreadable.length, 1);
    assert.match(contents.unreadable[0] ?? '', /events-2-1-1\.ndjson\.gz: /);
  });
});

describe('metricMax', () => {
  const text = [
    '# HELP pushtech_consumer_outage 1 while a dependency is down',
    '# TYPE pushtech_consumer_outage gauge',
    'pushtech_consumer_outage{consumer="event_counter",reason="redis"} 0',
    'pushtech_consumer_outage{consumer="metadata_counter",reason="redis"} 1',
    'pushtech_consumer_outage_total 7',
    '',
  ].join('\n');

  it('takes the largest sample of exactly that metric', () => {
    assert.equal(metricMax(text, 'pushtech_consumer_outage'), 1);
    assert.equal(metricMax(text, 'pushtech_consumer_outage_total'), 7);
  });

  it('is undefined when the metric is not there', () => {
    assert.equal(metricMax(text, 'pushtech_consumer_lag'), undefined);
  });
});

describe('watchOps', () => {
  it('tells what it has seen while it runs, and the same once stopped', async () => {
    // Ready with no outage at first, then not ready with the gauge raised.
    let asked = 0;
    const stop = watchOps(() =>
      Promise.resolve(asked++ === 0 ? { ready: true, outage: 0 } : { ready: false, outage: 1 }),
    );
    assert.equal(stop.seen().notReady, 0);
    while (stop.seen().notReady === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = stop.seen();
    assert.equal(seen.outageMax, 1);
    const final = await stop();
    assert.ok(final.samples >= seen.samples && final.samples >= 2);
    assert.equal(final.notReady, final.samples - 1, 'every sample after the first was not ready');
    const samplesAtStop = stop.seen().samples;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(stop.seen().samples, samplesAtStop, 'nothing is sampled once stopped');
  });
});
