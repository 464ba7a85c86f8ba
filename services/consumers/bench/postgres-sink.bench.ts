/**
 * The PostgreSQL sink's write path against a plain COPY of the same rows, in the same run, on a
 * PostgreSQL of its own (Debian's, fsync on, as npm start runs it). Three ways in:
 *
 * - `COPY (pg)`: node-postgres + pg-copy-streams, the events encoded as the sink encodes them
 *   and COPYed into a plain table with the same columns and no key: the floor of what any
 *   sink built on it can do (the baseline);
 * - `COPY (postgres.js)`: the same text through porsager's `postgres`, to choose the client;
 * - `postgres_sink`: the consumer's own handler, as the consumer kit calls it (Kafka left out):
 *   the lookup of known ids, the COPY into `events` (its primary key and day partitions), the
 *   hourly rollups, one transaction.
 *
 * BENCH_EVENTS (default 200000) events in batches of BENCH_BATCH (default 2000), realistic
 * meta and params, 2,000 devices, spread over six hours; a share BENCH_CLIENT_IDS (default 0.5)
 * with ids minted on the device (the sink looks those up; the tracker's come back only as
 * replays, which the primary key catches). Rounds alternate the three,
 * BENCH_ROUNDS (default 3), each into fresh tables; the median counts. Each run also counts
 * the CPU it took, this process's and PostgreSQL's (every process of its server), per event:
 * on a shared machine the waits for a core inflate the wall clock, not the CPU. Writes
 * $PUSHTECH_BENCH_RESULTS/postgres-sink.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import postgres from 'postgres';
import type { ConsumedEvent, ConsumerContext } from '@pushtech/consumer-kit';
import { builtInConsumers } from '../src/consumers/index.js';
import { freePort, startPostgresServer } from '@pushtech/devstack';
import { sampleEvent } from '@pushtech/event/testing';
import { createMetricsRegistry, silentLogger } from '@pushtech/runtime';
import { copyColumns, encodeRows } from '../src/consumers/postgres-sink-rows.js';
import { benchNumber, machineInfo, median, treeCpuSeconds, writeResult } from '@pushtech/bench';

const EVENTS = benchNumber('BENCH_EVENTS', 200_000);
const BATCH = benchNumber('BENCH_BATCH', 2_000);
const ROUNDS = benchNumber('BENCH_ROUNDS', 3);
/** The share of events whose id the device minted (the SDK's); the others' the tracker minted. */
const CLIENT_IDS = benchNumber('BENCH_CLIENT_IDS', 0.5, { min: 0, max: 1, integer: false });
const GOAL_EVENTS_PER_S = 20_000;
const GOAL_RATIO = 0.7;

const types = ['app_open', 'screen_view', 'click', 'purchase', 'app_close'];
const countries = ['DE', 'FR', 'US', 'BR', 'IN', 'JP', ''];
const devices = ['Mobile', 'Tablet', 'Desktop', ''];
const start = Date.UTC(2026, 0, 15, 6, 0, 0);

function events(): ConsumedEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const e = sampleEvent({
      type: types[i % types.length] as string,
      meta: {
        ts: start + Math.floor((i / EVENTS) * 6 * 3_600_000),
        country: countries[i % countries.length] as string,
        type: devices[i % devices.length] as string,
        ip: `203.0.113.${i % 250}`,
        lat: 52.52,
        lon: 13.4,
        osVersion: '17.4',
        ...(i % 100 < CLIENT_IDS * 100 ? { idSource: 'client' as const } : {}),
      },
      params: [
        ['deviceid', `device-${i % 2_000}`],
        ['screen', `screen-${i % 40}`],
        ['referrer', 'https://example.com/landing?utm_source=newsletter'],
      ],
    });
    return {
      id: e.meta.id,
      type: e.type,
      meta: e.meta,
      params: e.params,
      receivedAt: e.meta.ts,
      producedAt: e.meta.ts,
      message: '',
      source: { topic: 'events', partition: 0, offset: String(i) },
    };
  });
}

function batches<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += BATCH) out.push(list.slice(i, i + BATCH));
  return out;
}

/** One run of one way in: its rate, and its CPU per event in this process and in PostgreSQL. */
interface Run {
  readonly eventsPerSecond: number;
  readonly nodeCpuUs: number;
  readonly postgresCpuUs: number;
}

const PLAIN_COLUMNS = `id text, received_at timestamptz, type text, device_time timestamptz, device_id text, ip inet,
  country text, city text, region text, latitude double precision, longitude double precision, device_type text,
  browser text, browser_version text, engine text, os text, os_version text, vendor text, model text, bot boolean,
  host text, pod text, klag bigint, params jsonb`;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-bench-pg-'));
  const server = await startPostgresServer({ port: await freePort(), dir: path.join(dir, 'postgres') });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const all = events();
  // Every way in turns the same events into the same COPY rows (the sink's encoder), timed:
  // a plain COPY sink would have to as well.
  const eventBatches = batches(all);
  const text = (batch: readonly ConsumedEvent[]): Buffer => encodeRows(batch).bytes;
  const sink = builtInConsumers.find((d) => d.name === 'postgres_sink');
  if (!sink) throw new Error('postgres_sink is not a built-in consumer');

  const database = async (name: string): Promise<string> => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  };

  // A run's wall clock and CPU (this process, and every process of the PostgreSQL server).
  const meter = (): (() => Run) => {
    const t0 = performance.now();
    const node0 = process.cpuUsage();
    const pg0 = treeCpuSeconds(server.process.pid);
    return () => {
      const seconds = (performance.now() - t0) / 1000;
      const node = process.cpuUsage(node0);
      return {
        eventsPerSecond: EVENTS / seconds,
        nodeCpuUs: (node.user + node.system) / EVENTS,
        postgresCpuUs: ((treeCpuSeconds(server.process.pid) - pg0) * 1e6) / EVENTS,
      };
    };
  };

  const copyPg = async (round: number): Promise<Run> => {
    const c = new pg.Client({ connectionString: await database(`copy_pg_${round}`) });
    await c.connect();
    await c.query(`create table plain (${PLAIN_COLUMNS})`);
    const done = meter();
    for (const batch of eventBatches) {
      await c.query('begin');
      await pipeline(
        Readable.from([text(batch)]),
        c.query(copyFrom(`copy plain (${copyColumns.join(', ')}) from stdin`)),
      );
      await c.query('commit');
    }
    const run = done();
    await c.end();
    return run;
  };

  const copyPostgresJs = async (round: number): Promise<Run> => {
    const sql = postgres(await database(`copy_pgjs_${round}`), { max: 1, onnotice: () => undefined });
    await sql.unsafe(`create table plain (${PLAIN_COLUMNS})`);
    const done = meter();
    for (const batch of eventBatches) {
      await sql.begin(async (tx) => {
        const writable = await tx.unsafe(`copy plain (${copyColumns.join(', ')}) from stdin`).writable();
        await pipeline(Readable.from([text(batch)]), writable);
      });
    }
    const run = done();
    await sql.end();
    return run;
  };

  const sinkRun = async (round: number): Promise<Run> => {
    const url = await database(`sink_${round}`);
    const abort = new AbortController();
    const ctx = {
      name: 'postgres_sink',
      config: {
        POSTGRES_URL: url,
        POSTGRES_RETENTION_DAYS: 36_500,
        POSTGRES_PARTITIONS_AHEAD_DAYS: 1,
        POSTGRES_POOL_SIZE: 1,
      },
      logger: silentLogger(),
      metrics: createMetricsRegistry('bench', { processMetrics: false }),
      signal: abort.signal,
    } as unknown as ConsumerContext<unknown>;
    // Schema and partitions first, as at a sink's start.
    await sink.handleBatch([], ctx);
    await sink.checkDependencies?.(ctx);
    const done = meter();
    for (const batch of eventBatches) await sink.handleBatch(batch, ctx);
    const run = done();
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    const { rows } = await check.query<{ n: number; rolled: number }>(
      'select (select count(*)::int from events) as n, (select sum(events)::int from events_hourly) as rolled',
    );
    await check.end();
    abort.abort();
    if (rows[0]?.n !== EVENTS || rows[0]?.rolled !== EVENTS) {
      throw new Error(`the sink wrote ${JSON.stringify(rows[0])}, expected ${EVENTS} rows and rollups`);
    }
    return run;
  };

  const ways = { copyPg, copyPostgresJs, sink: sinkRun };
  const measured: Record<keyof typeof ways, Run[]> = { copyPg: [], copyPostgresJs: [], sink: [] };
  const loads: number[][] = [];
  const describeRun = (r: Run | undefined): string =>
    r
      ? `${Math.round(r.eventsPerSecond)}/s (CPU ${r.nodeCpuUs.toFixed(1)} + ${r.postgresCpuUs.toFixed(1)} µs/event)`
      : '-';
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, way] of Object.entries(ways) as [keyof typeof ways, (r: number) => Promise<Run>][]) {
        measured[name].push(await way(round));
      }
      loads.push(loadavg().map((l) => Number(l.toFixed(1))));
      console.log(
        `round ${round + 1}/${ROUNDS} (load ${loads.at(-1)?.join(' ')}): COPY (pg) ${describeRun(measured.copyPg.at(-1))}, ` +
          `COPY (postgres.js) ${describeRun(measured.copyPostgresJs.at(-1))}, postgres_sink ${describeRun(measured.sink.at(-1))}`,
      );
    }
  } finally {
    await admin.end();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (runs: Run[]): number => median(runs.map((r) => r.eventsPerSecond));
  const cpu = (runs: Run[]): number => median(runs.map((r) => r.nodeCpuUs + r.postgresCpuUs));
  const copy = rate(measured.copyPg);
  const copyJs = rate(measured.copyPostgresJs);
  const sinkRate = rate(measured.sink);
  const ratio = sinkRate / copy;
  // The same comparison in CPU: what the machine spends per event, whatever else runs on it.
  const cpuRatio = cpu(measured.copyPg) / cpu(measured.sink);
  const roundRatios = measured.sink.map((r, i) => r.eventsPerSecond / (measured.copyPg[i]?.eventsPerSecond ?? NaN));
  const rows = [
    { name: 'COPY (pg + pg-copy-streams)', eventsPerSecond: Math.round(copy), cpuUsPerEvent: cpu(measured.copyPg) },
    { name: 'COPY (postgres.js)', eventsPerSecond: Math.round(copyJs), cpuUsPerEvent: cpu(measured.copyPostgresJs) },
    { name: 'postgres_sink', eventsPerSecond: Math.round(sinkRate), cpuUsPerEvent: cpu(measured.sink) },
  ].map((r) => ({ ...r, cpuUsPerEvent: Number(r.cpuUsPerEvent.toFixed(1)) }));
  console.table(rows);
  const outFile = writeResult('postgres-sink', {
    date: new Date().toISOString(),
    machine: machineInfo(),
    events: EVENTS,
    batch: BATCH,
    clientIds: CLIENT_IDS,
    rounds: ROUNDS,
    loadAverages: loads,
    measured,
    summary: {
      bench: 'postgres-sink',
      title: 'PostgreSQL sink vs a plain COPY of the same rows',
      rows: [
        { name: 'COPY, pg', metric: 'events/s', value: Math.round(copy), baseline: true },
        { name: 'COPY, postgres.js', metric: 'events/s', value: Math.round(copyJs) },
        { name: 'postgres_sink', metric: 'events/s', value: Math.round(sinkRate) },
      ],
      goals: [
        {
          goal: `postgres_sink ≥ ${GOAL_EVENTS_PER_S.toLocaleString('en')} events/s`,
          value: `${Math.round(sinkRate).toLocaleString('en')}/s`,
          met: sinkRate >= GOAL_EVENTS_PER_S,
        },
        { goal: `postgres_sink ≥ ${GOAL_RATIO}× plain COPY`, value: `${ratio.toFixed(2)}×`, met: ratio >= GOAL_RATIO },
      ],
      notes: [
        `${EVENTS.toLocaleString('en')} events in batches of ${BATCH} (${CLIENT_IDS * 100}% with device-minted ids), one connection each, fsync on; median of ${ROUNDS} rounds; load average after each round ${loads.map((l) => l[0]).join(', ')}.`,
        `Sink / COPY per round: ${roundRatios.map((r) => `${r.toFixed(2)}×`).join(', ')}; in CPU per event (this process and PostgreSQL): ${cpuRatio.toFixed(2)}×.`,
        'The sink adds the lookup of known ids, the primary key of events and the hourly rollups (by type/country/device type, distinct devices) in the same transaction.',
      ],
    },
  });
  console.log(
    `postgres_sink ${ratio.toFixed(2)}x plain COPY (rounds ${roundRatios.map((r) => r.toFixed(2)).join(', ')}; CPU ${cpuRatio.toFixed(2)}x); results in ${outFile}`,
  );
}

await main();
