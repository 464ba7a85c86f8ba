// Throughput of the wire-format hot paths, each next to a baseline measured in the same run:
// event ids against crypto.randomUUID, the Kafka message and the raw hit against
// JSON.stringify/JSON.parse of the same data. Prints a table and writes JSON for comparison
// across runs; it asserts nothing.
import { randomUUID } from 'node:crypto';
import {
  decodeMessage,
  decodeRawHit,
  encodeMessage,
  encodeRawHit,
  ipToHex,
  newEventId,
  type RawHit,
  type TrackingEvent,
} from '@pushtech/event';
import { writeResult } from '../src/index.js';

interface Case {
  name: string;
  unit: string;
  run: () => unknown;
  baseline?: string;
}

interface Measurement {
  name: string;
  unit: string;
  opsPerSecond: number;
  baseline: string | null;
  vsBaseline: number | null;
}

const WARMUP_MS = 300;
const MEASURE_MS = 1000;
const ROUNDS = 3;
const BATCH = 1000;

const event: TrackingEvent = {
  type: 'app_open',
  meta: {
    type: 'Mobile',
    browser: 'Mobile Safari',
    engine: 'WebKit',
    version: '17.0',
    os: 'iOS',
    host: 't.example.com',
    ts: 1763880000000,
    ip: '81.169.145.94',
    klag: 12,
    country: 'DE',
    city: 'Berlin',
    id: newEventId(),
    pod: '10.1.2.3',
    region: 'BE',
    lat: 52.52,
    lon: 13.405,
    osVersion: '17.0.1',
    vendor: 'Apple',
    model: 'iPhone',
    bot: false,
    extra: [],
  },
  params: [
    ['deviceid', 'abcdf-0123-4567-89ab-cdef01234567'],
    ['ts', '123456'],
    ['referrer', 'https://www.example.com/some/page?x=1'],
    ['title', 'Grüße aus Köln'],
  ],
};
const message = encodeMessage(event);
const eventJson = JSON.stringify(event);

const hit: RawHit = {
  id: event.meta.id,
  ts: event.meta.ts,
  ip: event.meta.ip,
  host: event.meta.host,
  pod: event.meta.pod,
  type: event.type,
  params: message.slice(message.lastIndexOf(' ') + 1),
  ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
};
const rawHit = encodeRawHit(hit);
const hitJson = JSON.stringify(hit);

const cases: readonly Case[] = [
  { name: 'crypto.randomUUID', unit: 'ids', run: () => randomUUID() },
  { name: 'newEventId', unit: 'ids', run: () => newEventId(), baseline: 'crypto.randomUUID' },
  { name: 'JSON.stringify(event)', unit: 'msgs', run: () => JSON.stringify(event) },
  { name: 'encodeMessage', unit: 'msgs', run: () => encodeMessage(event), baseline: 'JSON.stringify(event)' },
  { name: 'JSON.parse(event)', unit: 'msgs', run: (): unknown => JSON.parse(eventJson) },
  { name: 'decodeMessage', unit: 'msgs', run: () => decodeMessage(message), baseline: 'JSON.parse(event)' },
  { name: 'JSON.stringify(hit object)', unit: 'hits', run: () => JSON.stringify(hit) },
  { name: 'encodeRawHit', unit: 'hits', run: () => encodeRawHit(hit), baseline: 'JSON.stringify(hit object)' },
  { name: 'JSON.parse(hit object)', unit: 'hits', run: (): unknown => JSON.parse(hitJson) },
  { name: 'decodeRawHit', unit: 'hits', run: () => decodeRawHit(rawHit), baseline: 'JSON.parse(hit object)' },
  { name: 'ipToHex(IPv4)', unit: 'ips', run: () => ipToHex('81.169.145.94') },
  { name: 'ipToHex(IPv6)', unit: 'ips', run: () => ipToHex('2001:db8:85a3::8a2e:370:7334') },
];

// Results flow into this so the optimizer cannot drop the measured calls.
let sink = 0;

function opsPerSecond(run: () => unknown, durationMs: number): number {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let ops = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < BATCH; i++) if (run() !== undefined) sink++;
    ops += BATCH;
    now = process.hrtime.bigint();
  }
  return (ops * 1e9) / Number(now - start);
}

function measure(benchCase: Case): number {
  opsPerSecond(benchCase.run, WARMUP_MS);
  const rounds = Array.from({ length: ROUNDS }, () => opsPerSecond(benchCase.run, MEASURE_MS));
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] ?? 0;
}

const measured = new Map<string, number>();
const results: Measurement[] = cases.map((benchCase) => {
  const ops = measure(benchCase);
  measured.set(benchCase.name, ops);
  const baselineOps = benchCase.baseline === undefined ? undefined : measured.get(benchCase.baseline);
  return {
    name: benchCase.name,
    unit: benchCase.unit,
    opsPerSecond: Math.round(ops),
    baseline: benchCase.baseline ?? null,
    vsBaseline: baselineOps === undefined ? null : Number((ops / baselineOps).toFixed(2)),
  };
});

const rows = results.map((r) => [
  r.name,
  `${r.opsPerSecond.toLocaleString('en-US')} ${r.unit}/s`,
  r.vsBaseline === null ? '' : `${r.vsBaseline}x ${r.baseline ?? ''}`,
]);
const header = ['case', 'throughput', 'vs baseline'];
const widths = header.map((h, column) => Math.max(h.length, ...rows.map((row) => (row[column] ?? '').length)));
const line = (cells: readonly string[]): string =>
  cells
    .map((cell, column) => (column === 1 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
    .join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));

const report = {
  package: '@pushtech/event',
  node: process.version,
  date: new Date().toISOString(),
  sampleMessageBytes: Buffer.byteLength(message),
  sampleRawHitBytes: Buffer.byteLength(rawHit),
  results,
  summary: {
    bench: 'event',
    title: 'Wire formats: event ids, messages, raw hits (one core)',
    // Each case is charted next to the baseline it is compared with, e.g. encodeMessage beside
    // JSON.stringify of the same event.
    rows: results.map((r) => {
      const pair = r.baseline ?? (results.some((other) => other.baseline === r.name) ? r.name : null);
      return {
        name: r.name,
        metric: pair === null ? `${r.unit}/s` : `${r.unit}/s, against ${pair}`,
        value: r.opsPerSecond,
        baseline: r.baseline === null && pair !== null,
      };
    }),
    notes: [`sample message ${Buffer.byteLength(message)} bytes, raw hit ${Buffer.byteLength(rawHit)} bytes`],
  },
};
const outFile = writeResult('event', report);
console.log(`\nwrote ${outFile} (sink ${sink % 10})`);
