/**
 * The PostgreSQL sink's write path against a plain COPY of the same rows, in the same run, on a
 * PostgreSQL of its own (Debian's, fsync on, as npm start runs it). Three ways in:
 *
 * - `COPY (pg)`: node-postgres + pg-copy-streams, the events encoded as the sink encodes them
 *   and COPYed into a plain table with the same columns and no key: the floor of what any
 *   sink built on it can do (the baseline);
 * - `COPY (postgres.js)`: the same text through porsager's `postgres`, to choose the client;
 * - `postgres_sink`: the consumer's own handler, as the consumer kit calls it (Kafka left out):
 *   COPY into staging, the insert that skips known ids, the hourly rollups, one transaction.
 *
 * BENCH_EVENTS (default 200000) events in batches of BENCH_BATCH (default 2000), realistic
 * meta and params, 2,000 devices, spread over six hours. Rounds alternate the three,
 * BENCH_ROUNDS (default 3), each into fresh tables; the median counts. Writes
 * $PUSHTECH_BENCH_RESULTS/postgres-sink.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { copyColumns, copyRow } from '../src/consumers/postgres-sink-rows.js';
import { machineInfo, median, writeResult } from '@pushtech/bench';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 200_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 2_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
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
  const text = (batch: readonly ConsumedEvent[]): string => batch.map(copyRow).join('');
  const sink = builtInConsumers.find((d) => d.name === 'postgres_sink');
  if (!sink) throw new Error('postgres_sink is not a built-in consumer');

  const database = async (name: string): Promise<string> => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  };

  const copyPg = async (round: number): Promise<number> => {
    const c = new pg.Client({ connectionString: await database(`copy_pg_${round}`) });
    await c.connect();
    await c.query(`create table plain (${PLAIN_COLUMNS})`);
    const t0 = performance.now();
    for (const batch of eventBatches) {
      await c.query('begin');
      await pipeline(
        Readable.from([text(batch)]),
        c.query(copyFrom(`copy plain (${copyColumns.join(', ')}) from stdin`)),
      );
      await c.query('commit');
    }
    const seconds = (performance.now() - t0) / 1000;
    await c.end();
    return EVENTS / seconds;
  };

  const copyPostgresJs = async (round: number): Promise<number> => {
    const sql = postgres(await database(`copy_pgjs_${round}`), { max: 1, onnotice: () => undefined });
    await sql.unsafe(`create table plain (${PLAIN_COLUMNS})`);
    const t0 = performance.now();
    for (const batch of eventBatches) {
      await sql.begin(async (tx) => {
        const writable = await tx.unsafe(`copy plain (${copyColumns.join(', ')}) from stdin`).writable();
        await pipeline(Readable.from([text(batch)]), writable);
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    await sql.end();
    return EVENTS / seconds;
  };

  const sinkRun = async (round: number): Promise<number> => {
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
    const t0 = performance.now();
    for (const batch of eventBatches) await sink.handleBatch(batch, ctx);
    const seconds = (performance.now() - t0) / 1000;
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
    return EVENTS / seconds;
  };

  const measured = { copyPg: [] as number[], copyPostgresJs: [] as number[], sink: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      measured.copyPg.push(await copyPg(round));
      measured.copyPostgresJs.push(await copyPostgresJs(round));
      measured.sink.push(await sinkRun(round));
      console.log(
        `round ${round + 1}/${ROUNDS}: COPY (pg) ${Math.round(measured.copyPg.at(-1) ?? 0)}/s, COPY (postgres.js) ${Math.round(measured.copyPostgresJs.at(-1) ?? 0)}/s, postgres_sink ${Math.round(measured.sink.at(-1) ?? 0)}/s`,
      );
    }
  } finally {
    await admin.end();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const copy = median(measured.copyPg);
  const copyJs = median(measured.copyPostgresJs);
  const sinkRate = median(measured.sink);
  const ratio = sinkRate / copy;
  const rows = [
    { name: 'COPY (pg + pg-copy-streams)', eventsPerSecond: Math.round(copy) },
    { name: 'COPY (postgres.js)', eventsPerSecond: Math.round(copyJs) },
    { name: 'postgres_sink', eventsPerSecond: Math.round(sinkRate) },
  ];
  console.table(rows);
  const outFile = writeResult('postgres-sink', {
    date: new Date().toISOString(),
    machine: machineInfo(),
    events: EVENTS,
    batch: BATCH,
    rounds: ROUNDS,
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
        `${EVENTS.toLocaleString('en')} events in batches of ${BATCH}, one connection each, fsync on; median of ${ROUNDS} rounds.`,
        'The sink adds the dedup insert from staging and the hourly rollups (by type/country/device type, distinct devices) in the same transaction.',
      ],
    },
  });
  console.log(`postgres_sink ${ratio.toFixed(2)}x plain COPY; results in ${outFile}`);
}

await main();
