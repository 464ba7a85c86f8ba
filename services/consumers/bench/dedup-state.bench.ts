/**
 * Memory and keys of one consumer's dedup state at a sustained rate, old design against new, in
 * the same run, on a Redis of the bench's own (nothing else in it, no AOF):
 * - old (the baseline, before issue 20): one `SET <prefix>:dedup:<consumer>:<id> 1 NX EX 3600`
 *   per event. Its steady state is rate x 3600 keys; the bench stores BASELINE_EVENTS of them and
 *   scales the measured bytes per key to the hour (the growth is linear: one key per event);
 * - new: `createDedup` (offset per partition, ids in bucketed intsets, window 900 s), fed at the
 *   rate over 6 buckets of synthetic time (a clock the bench moves), and measured at the end of
 *   the last bucket, when the state is largest.
 * Events carry real event ids (ULIDs), 6 partitions. Prints a table and writes
 * `${PUSHTECH_BENCH_RESULTS ?? <repo>/.bench-results}/dedup-state.json`.
 * BENCH_DEDUP_RATES (default 1000,6000) sets the rates; 15000 takes about 3 minutes more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createDedup, DEDUP_BUCKETS_PER_WINDOW, dedupKeyBound, type DedupEvent } from '@pushtech/consumer-kit';
import { freePort, startRedisServer } from '@pushtech/devstack';
import { createEventIdGenerator } from '@pushtech/event';
import { benchNumbers, writeResult } from '@pushtech/bench';

const RATES = benchNumbers('BENCH_DEDUP_RATES', [1000, 6000]);
const WINDOW_SECONDS = 900;
const OLD_WINDOW_SECONDS = 3600;
const BASELINE_EVENTS = 300_000;
const PARTITIONS = 6;
const CALL = 500;

const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-dedup-bench-'));
const server = await startRedisServer({ port: await freePort(), dir, appendOnly: false });
const redis = new Redis(server.url);

/** Redis CPU time spent in scripts since the last CONFIG RESETSTAT, µs. */
async function scriptMicros(): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/** The baseline's mark, as the old applyOnce script set it. */
const OLD_MARK = `
for _, id in ipairs(cjson.decode(ARGV[3])) do redis.call('SET', ARGV[2] .. id, '1', 'NX', 'EX', ARGV[1]) end
`;

interface Row {
  design: string;
  eventsPerSecond: number;
  keys: number;
  bytes: number;
  bytesPerEventPerSecond: number;
  keyBound?: number;
  insertsPerSecond: number;
  /** Redis time in the dedup script per event, µs (what one Redis core can carry: 1e6 / this). */
  redisMicrosPerEvent: number;
}

async function measureOld(rate: number): Promise<Row> {
  await redis.flushall();
  await redis.config('RESETSTAT');
  const before = await usedMemory();
  const ids = createEventIdGenerator();
  const started = performance.now();
  for (let i = 0; i < BASELINE_EVENTS; i += CALL) {
    const batch = Array.from({ length: Math.min(CALL, BASELINE_EVENTS - i) }, () => ids());
    await redis.eval(OLD_MARK, 0, String(OLD_WINDOW_SECONDS), 'pushtech:dedup:event_counter:', JSON.stringify(batch));
  }
  const ms = performance.now() - started;
  const perKey = ((await usedMemory()) - before) / (await redis.dbsize());
  const keys = rate * OLD_WINDOW_SECONDS;
  return {
    design: 'old: a key per event, 3600 s',
    eventsPerSecond: rate,
    keys,
    bytes: Math.round(perKey * keys),
    bytesPerEventPerSecond: Math.round(perKey * OLD_WINDOW_SECONDS),
    insertsPerSecond: Math.round((BASELINE_EVENTS / ms) * 1000),
    redisMicrosPerEvent: (await scriptMicros()) / BASELINE_EVENTS,
  };
}

async function measureNew(rate: number): Promise<Row> {
  await redis.flushall();
  await redis.config('RESETSTAT');
  const before = await usedMemory();
  const bucketMs = Math.ceil((WINDOW_SECONDS * 1000) / DEDUP_BUCKETS_PER_WINDOW);
  // Start on a bucket boundary and stop just before the 7th: the 4 live buckets all sized from a
  // full bucket before them, the last one full too.
  const start = Math.ceil(Date.now() / bucketMs) * bucketMs;
  const end = start + 6 * bucketMs - 1;
  const clock = { ms: start };
  const dedup = createDedup(redis, {
    markPrefix: 'pushtech:dedup:event_counter:',
    windowSeconds: WINDOW_SECONDS,
    now: () => clock.ms,
  });
  const ids = createEventIdGenerator();
  const offsets = new Array<number>(PARTITIONS).fill(0);
  let events = 0;
  const started = performance.now();
  for (; clock.ms <= end; clock.ms += (CALL / rate) * 1000) {
    const partition = events % PARTITIONS;
    const batch: DedupEvent[] = Array.from({ length: CALL }, () => ({
      id: ids(),
      source: { topic: 'events', partition, offset: String((offsets[partition] = (offsets[partition] ?? 0) + 1)) },
    }));
    await dedup.applyOnce(batch, () => []);
    events += CALL;
  }
  const ms = performance.now() - started;
  const bytes = (await usedMemory()) - before;
  return {
    design: 'new: offsets + bucketed intsets, 900 s',
    eventsPerSecond: rate,
    keys: await redis.dbsize(),
    bytes,
    bytesPerEventPerSecond: Math.round(bytes / rate),
    keyBound: dedupKeyBound(WINDOW_SECONDS, rate),
    insertsPerSecond: Math.round((events / ms) * 1000),
    redisMicrosPerEvent: (await scriptMicros()) / events,
  };
}

const rows: Row[] = [];
try {
  for (const rate of RATES) {
    rows.push(await measureOld(rate));
    rows.push(await measureNew(rate));
  }
} finally {
  await redis.quit();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
console.log(`\nOne consumer's dedup state at a sustained rate (6 partitions, ULID ids, Redis ${server.port})`);
console.table(
  rows.map((r) => ({
    design: r.design,
    'events/s': r.eventsPerSecond,
    keys: r.keys,
    'key bound': r.keyBound ?? '',
    MB: mb(r.bytes),
    'bytes per event/s': r.bytesPerEventPerSecond,
    'inserts/s': r.insertsPerSecond,
    'Redis µs/event': r.redisMicrosPerEvent.toFixed(2),
  })),
);

const pairs = RATES.map((rate) => {
  const now = rows.find((r) => r.eventsPerSecond === rate && r.design.startsWith('new'));
  return { rate, now };
});
const file = writeResult('dedup-state', {
  windowSeconds: WINDOW_SECONDS,
  oldWindowSeconds: OLD_WINDOW_SECONDS,
  rows,
  at: new Date().toISOString(),
  summary: {
    bench: 'dedup-state',
    title: 'Consumer dedup state: a key per event (old) against offsets + bucketed intsets (new)',
    rows: [
      ...rows.map((r) => ({
        name: `${r.design.split(':')[0]}, ${r.eventsPerSecond} events/s`,
        metric: 'bytes per event/s',
        value: r.bytesPerEventPerSecond,
        ...(r === rows[0] ? { baseline: true } : {}),
      })),
      ...rows.map((r) => ({
        name: `${r.design.split(':')[0]}, ${r.eventsPerSecond} events/s`,
        metric: 'Redis µs per event',
        value: Number(r.redisMicrosPerEvent.toFixed(2)),
        ...(r === rows[0] ? { baseline: true } : {}),
      })),
    ],
    goals: pairs.map(({ rate, now }) => ({
      goal: `keys at ${rate} events/s within the stated bound`,
      value: `${now?.keys} <= ${now?.keyBound}`,
      met: (now?.keys ?? Infinity) <= (now?.keyBound ?? 0),
    })),
    notes: [
      'one consumer; the three counting consumers hold three such states',
      ...rows.map(
        (r) => `${r.design} at ${r.eventsPerSecond} events/s: ${r.keys} keys, ${mb(r.bytes)} MB of Redis memory`,
      ),
      `old: measured on ${BASELINE_EVENTS} keys and scaled to rate x ${OLD_WINDOW_SECONDS} s (linear: a key per event)`,
      `new: ${WINDOW_SECONDS} s window in 3 buckets, fed for 6 buckets of synthetic time, measured at the fullest moment (4 buckets live, the last one full)`,
      'Redis µs per event: time inside the dedup script (INFO commandstats), marking only, no counter writes',
    ],
  },
});
console.log(`wrote ${file}`);
