// The client SDK (issue 22): the CPU cost of track() against a bare ULID mint and array push
// (the least any device-side queue does), measured in the same run, and the size of the browser
// build as it ships (dist/pushtech.min.js, minified and gzipped). Run by the sdk workspace's
// `bench` script, after its build. Prints a table and writes JSON; it asserts nothing.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { newEventId } from '@pushtech/event';
import { createClient, type EventParams } from '../src/index.js';
import { machineInfo, median, writeResult } from '@pushtech/bench';

const CALLS = 100_000;
const ROUNDS = 5;
const TRACK_GOAL_US = 5;
const SIZE_GOAL_BYTES = 2560;
const params: EventParams = { screen: 'home', referrer: 'https://www.example.com/', n: 42, first: true };

// A tracker stand-in that accepts every batch, so a round's queue drains between rounds.
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('{"accepted":1}'));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

let sink = 0;

/**
 * CPU seconds of CALLS calls in a tight loop. CPU time rather than wall time: on a machine
 * shared with other work a wall clock counts the waits for a core, which are not track()'s.
 */
function cpuSeconds(call: (i: number) => string): number {
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) sink += call(i).length;
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

let queue: unknown[] = [];
const bare = (i: number): string => {
  const id = newEventId();
  queue.push([id, 'screen_view', { ...params, i }, Date.now()]);
  return id;
};
const newClient = () =>
  createClient({ endpoint, storage: null, flushIntervalMs: 86_400_000, maxBatch: 1000, maxQueue: 1e6 });
let client = newClient();
const tracked = (i: number): string => client.track('screen_view', { ...params, i });

// Baseline and track() alternate round by round, so both see the same machine; round 0 warms
// the JIT up and is not counted. A client's sends run after its round, outside the measurement.
const baselineRates: number[] = [];
const trackRates: number[] = [];
for (let round = 0; round <= ROUNDS; round++) {
  const b = cpuSeconds(bare);
  queue = [];
  const t = cpuSeconds(tracked);
  await client.shutdown();
  client = newClient();
  if (round > 0) {
    baselineRates.push(CALLS / b);
    trackRates.push(CALLS / t);
  }
}
await client.shutdown();
server.close();
const baseline = median(baselineRates);
const track = median(trackRates);

const file = createRequire(import.meta.url).resolve('@pushtech/sdk/pushtech.min.js');
const built = readFileSync(file);
const minified = built.length;
const gzipped = gzipSync(built, { level: 9 }).length;
const trackUs = 1e6 / track;

const rows = [
  { name: 'bare ULID mint + array push', metric: 'calls per CPU-second', value: Math.round(baseline), baseline: true },
  { name: 'track()', metric: 'calls per CPU-second', value: Math.round(track) },
  { name: 'pushtech.min.js, minified', metric: 'bytes', value: minified },
  { name: 'pushtech.min.js, minified + gzip -9', metric: 'bytes', value: gzipped },
];
console.log('case                                   value');
console.log('-------------------------------------  ----------------');
for (const r of rows) console.log(`${r.name.padEnd(37)}  ${r.value.toLocaleString('en-US')} ${r.metric}`);
console.log(`track(): ${trackUs.toFixed(2)} µs of CPU a call, ${(track / baseline).toFixed(2)}x the baseline`);

const outFile = writeResult('sdk', {
  package: '@pushtech/sdk',
  date: new Date().toISOString(),
  machine: machineInfo(),
  calls: CALLS,
  rounds: ROUNDS,
  trackUs,
  baselineUs: 1e6 / baseline,
  minified,
  gzipped,
  summary: {
    bench: 'sdk',
    title: 'Client SDK: track() and the browser build',
    rows,
    goals: [
      { goal: `track() under ${TRACK_GOAL_US} µs`, value: `${trackUs.toFixed(2)} µs`, met: trackUs < TRACK_GOAL_US },
      {
        goal: `browser build at most ${SIZE_GOAL_BYTES} bytes minified and gzipped`,
        value: `${gzipped} bytes`,
        met: gzipped <= SIZE_GOAL_BYTES,
      },
    ],
    notes: [
      `track() with 4 params (Node ${process.version}): CPU time of the process, median of ${ROUNDS} rounds of ${CALLS.toLocaleString('en-US')} calls, alternating with the baseline; the sends run between rounds, not inside them`,
      `load average ${os.loadavg()[0]?.toFixed(1) ?? '?'} on ${os.availableParallelism()} cores at the end of the run`,
      'the baseline mints with the pipeline ULID generator and pushes the same tuple the SDK queues',
    ],
  },
});
console.log(`\nwrote ${outFile} (sink ${sink % 10})`);
