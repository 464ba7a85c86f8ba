import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { niceCeiling } from '../src/charts.js';
import { anchorsOf, linksOf } from '../src/markdown.js';
import { buildReport, HAND_WRITTEN_MARKER } from '../src/report.js';
import { parseSummary, SummaryError, type BenchSummary } from '../src/summary.js';

const tracker: BenchSummary = {
  bench: 'tracker',
  title: 'Tracker: HTTP edge',
  rows: [
    { name: 'bare uWebSockets.js', metric: 'req/s', value: 80000, baseline: true },
    { name: 'tracker', metric: 'req/s', value: 32000 },
    { name: 'tracker', metric: 'MiB RSS', value: 118 },
  ],
  goals: [{ goal: 'tracker >= 0.6x bare', value: '0.40x', met: false }],
  notes: ['stores every event'],
};

const pipeline: BenchSummary = {
  bench: 'pipeline',
  title: 'Whole pipeline',
  rows: [{ name: 'sustained', metric: 'events/s', value: 6000 }],
  series: [
    {
      title: 'Latency against offered rate',
      x: 'events/s',
      y: 'ms',
      lines: [
        {
          name: 'p99 to Kafka',
          points: [
            [1500, 12],
            [3000, 20],
          ],
        },
      ],
    },
  ],
};

describe('parseSummary', () => {
  it('accepts a well-formed summary and names the first wrong field otherwise', () => {
    assert.equal(parseSummary('t.json', { summary: tracker }).rows.length, 3);
    assert.throws(() => parseSummary('t.json', { other: 1 }), /t\.json: no "summary" object/);
    assert.throws(
      () => parseSummary('t.json', { summary: { ...tracker, rows: [{ name: 'x', metric: 'req/s', value: 'fast' }] } }),
      (e: unknown) => e instanceof SummaryError && /summary\.rows\[0\]\.value must be a finite number/.test(e.message),
    );
    assert.throws(() => parseSummary('t.json', { summary: { ...tracker, rows: [] } }), /summary\.rows is empty/);
    assert.throws(
      () => parseSummary('t.json', { summary: { ...tracker, goals: [{ goal: 'g', value: 'v', met: 'yes' }] } }),
      /summary\.goals\[0\] needs goal, value and a boolean met/,
    );
    assert.throws(
      () =>
        parseSummary('t.json', {
          summary: { ...pipeline, series: [{ title: 't', x: 'x', y: 'y', lines: [{ name: 'l', points: [[1]] }] }] },
        }),
      /points\[0\] must be \[x, y\] numbers/,
    );
  });
});

describe('buildReport', () => {
  const report = buildReport([tracker, pipeline], {
    date: '2026-11-23 10:00 UTC',
    machine: '2 cores',
    chartDir: 'bench',
  });

  it('puts the whole pipeline first and shows ratios to the in-run baseline', () => {
    const md = report.markdown;
    assert.ok(md.indexOf('## Whole pipeline') < md.indexOf('## Tracker: HTTP edge'));
    assert.match(md, /\| bare uWebSockets\.js \(\*baseline\*\) \| req\/s \| 80,000 \| {2}\|/);
    assert.match(md, /\| tracker \| req\/s \| 32,000 \| 0\.40x \|/);
    assert.match(md, /\| tracker >= 0\.6x bare \| 0\.40x \| \*\*no\*\* \|/);
    assert.match(md, /\| \[Tracker: HTTP edge\]\(#tracker-http-edge\) \| 0 of 1 \|/);
  });

  it('draws a bar chart per metric with two or more rows and a line chart per series', () => {
    assert.deepEqual([...report.charts.keys()].sort(), [
      'pipeline-latency-against-offered-rate.svg',
      'tracker-req-s.svg',
    ]);
    const bars = report.charts.get('tracker-req-s.svg') ?? '';
    assert.match(bars, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(bars, /bare uWebSockets\.js \[baseline\]/);
    assert.match(bars, /32,000 \(0\.40x\)/);
    assert.match(report.markdown, /!\[Tracker: HTTP edge: req\/s\]\(bench\/tracker-req-s\.svg\)/);
    assert.match(report.charts.get('pipeline-latency-against-offered-rate.svg') ?? '', /<path d="M[\d.]+,[\d.]+ L/);
  });

  it('renders names as text in the SVG', () => {
    const hostile: BenchSummary = {
      bench: 'x',
      title: 'X',
      rows: [
        { name: '<script>alert(1)</script>', metric: 'n', value: 1, baseline: true },
        { name: 'b & c', metric: 'n', value: 2 },
      ],
    };
    const svg = buildReport([hostile], { date: 'd', machine: 'm', chartDir: '.' }).charts.get('x-n.svg') ?? '';
    assert.ok(!svg.includes('<script>'));
    assert.match(svg, /&#60;script&#62;/);
    assert.match(svg, /b &#38; c/);
  });

  it('links every row of the summary table to its section as GitHub anchors it', () => {
    const titled = { ...tracker, title: 'Kafkastore: Redis -> enrich -> Kafka (acks=all)' };
    const md = buildReport([titled, pipeline], { date: 'd', machine: 'm', chartDir: 'bench' }).markdown;
    const anchors = anchorsOf(md);
    const toc = linksOf(md).filter((l) => l.target.startsWith('#'));
    assert.equal(toc.length, 2);
    for (const { target } of toc) assert.ok(anchors.has(target.slice(1)), target);
  });

  it('shows a summary table as it is, its first row the header, its cells escaped', () => {
    const perProcess: BenchSummary = {
      ...pipeline,
      tables: [
        {
          title: 'CPU per event',
          rows: [
            ['process', '1000/s', '3000/s'],
            ['tracker', '164', '72'],
            ['a | b', '1', '2'],
          ],
        },
      ],
    };
    const md = buildReport([perProcess], { date: 'd', machine: 'm', chartDir: 'bench' }).markdown;
    assert.match(
      md,
      /\*\*CPU per event\*\*\n\n\| process \| 1000\/s \| 3000\/s \|\n\|---\|---:\|---:\|\n\| tracker \| 164 \| 72 \|/,
    );
    assert.match(md, /\| a \\\| b \| 1 \| 2 \|/);
    const parsed = parseSummary('p.json', { summary: perProcess });
    assert.deepEqual(parsed.tables, perProcess.tables);
    assert.throws(
      () => parseSummary('p.json', { summary: { ...pipeline, tables: [{ title: 't', rows: [['a', 'b'], ['c']] }] } }),
      /tables\[0\]\.rows must be rows of the header's width/,
    );
  });

  it('rounds axes up to readable values', () => {
    assert.equal(niceCeiling(83_000), 100_000);
    assert.equal(niceCeiling(41), 50);
    assert.equal(niceCeiling(0.3), 0.5);
  });
});

describe('report-cli', () => {
  const cli = fileURLToPath(new URL('../src/report-cli.ts', import.meta.url));
  const run = (dir: string): ReturnType<typeof spawnSync> =>
    spawnSync(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        cli,
        '--results',
        path.join(dir, 'results'),
        '--out',
        path.join(dir, 'docs/BENCHMARKS.md'),
        '--charts',
        path.join(dir, 'docs/bench'),
      ],
      { encoding: 'utf8' },
    );

  it('writes the markdown and the charts from a results folder', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-report-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const results = path.join(dir, 'results');
    spawnSync('mkdir', ['-p', results]);
    writeFileSync(path.join(results, 'tracker.json'), JSON.stringify({ details: 1, summary: tracker }));
    writeFileSync(path.join(results, 'pipeline.json'), JSON.stringify({ summary: pipeline }));
    const result = run(dir);
    assert.equal(result.status, 0, String(result.stderr));
    assert.match(readFileSync(path.join(dir, 'docs/BENCHMARKS.md'), 'utf8'), /## Whole pipeline/);
    assert.deepEqual(readdirSync(path.join(dir, 'docs/bench')).sort(), [
      'pipeline-latency-against-offered-rate.svg',
      'tracker-req-s.svg',
    ]);
  });

  it('replaces the generated part and keeps the hand-written part after the marker', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-report-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const results = path.join(dir, 'results');
    const out = path.join(dir, 'docs/BENCHMARKS.md');
    spawnSync('mkdir', ['-p', results, path.dirname(out)]);
    writeFileSync(path.join(results, 'tracker.json'), JSON.stringify({ summary: tracker }));
    const handWritten = `${HAND_WRITTEN_MARKER}\n\n## Ranges over several runs\n\n| run | req/s |\n| 1 | 31.8 k |\n`;
    writeFileSync(out, `# Benchmarks\n\n## An old section the new run no longer has\n\n${handWritten}`);
    assert.equal(run(dir).status, 0);
    const first = readFileSync(out, 'utf8');
    assert.ok(first.endsWith(handWritten), first);
    assert.doesNotMatch(first, /An old section/);
    assert.ok(first.indexOf('## Tracker: HTTP edge') < first.indexOf(HAND_WRITTEN_MARKER));
    // A second run keeps exactly one copy of it.
    assert.equal(run(dir).status, 0);
    assert.equal(readFileSync(out, 'utf8'), first);
  });

  it('refuses a result without a summary, naming the file, and writes nothing', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-report-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const results = path.join(dir, 'results');
    spawnSync('mkdir', ['-p', results]);
    writeFileSync(path.join(results, 'old.json'), JSON.stringify({ rate: 1 }));
    const result = run(dir);
    assert.equal(result.status, 1);
    assert.match(String(result.stderr), /bench report: old\.json: no "summary" object at the top level/);
    assert.equal(existsSync(path.join(dir, 'docs/BENCHMARKS.md')), false);
  });
});
