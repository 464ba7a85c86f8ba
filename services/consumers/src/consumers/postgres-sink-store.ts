import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { transient, type ConsumedEvent } from '@pushtech/consumer-kit';
import type { Logger } from '@pushtech/runtime';
import { BatchRollup, SeenDevices } from './postgres-sink-rollups.js';
import { copyColumns, encodeRows, isoTime, keptRows, type CopyRows } from './postgres-sink-rows.js';
import { createDayPartitions, dayOf, daysAhead, dropExpiredPartitions, migrate } from './postgres-sink-schema.js';

export interface SinkStoreOptions {
  readonly url: string;
  readonly retentionDays: number;
  readonly partitionsAheadDays: number;
  readonly poolSize: number;
  readonly logger: Logger;
}

/** What one batch did: rows new to `events`, and rows already there (replays, client retries). */
export interface BatchOutcome {
  readonly inserted: number;
  readonly duplicates: number;
}

const MAINTENANCE_MS = 3_600_000;

/**
 * SQLSTATE classes and codes that say PostgreSQL cannot take writes now, whatever the event:
 * connection (08), insufficient resources such as a full disk (53), operator intervention such
 * as a shutdown (57), system I/O errors (58), and lost races (40001, 40P01) worth another try.
 */
const OUTAGE_CLASSES = new Set(['08', '53', '57', '58']);
const OUTAGE_CODES = new Set(['40001', '40P01', '55P03']);
/** node-postgres's own messages for a connection that is gone or never came (no SQLSTATE). */
const CLIENT_OUTAGE =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed/i;

/** Whether a failure is PostgreSQL's (down, full, restarting), not the event's. */
export function isPostgresOutage(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return OUTAGE_CLASSES.has(code.slice(0, 2)) || OUTAGE_CODES.has(code);
  }
  return typeof message === 'string' && CLIENT_OUTAGE.test(message);
}

/** Marks PostgreSQL's own failures as an outage for the consumer kit (held, never dead-lettered). */
function asOutage(error: unknown): unknown {
  return isPostgresOutage(error) ? transient(error, `PostgreSQL unavailable: ${describe(error)}`) : error;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The batch's ids already in `events`, received between the batch's first receive time less a
 * day and its last plus a day, with their receive times: one statement for the batch, its ids
 * as one array parameter, named so that each connection plans it once. The generic plan is one
 * index-only scan of the primary key per day partition the bounds keep (pruned when it
 * runs), the ids looked up in one pass. A LATERAL probe per row (the partitions rescanned and
 * pruned again for each) cost 1-2 µs more CPU an event on the sink's bench.
 */
const KNOWN_IDS = {
  name: 'postgres_sink_known_ids',
  text: `select id, extract(epoch from received_at)::float8 * 1000 as ms from events
          where id = any($1::text[]) and received_at between $2::timestamptz and $3::timestamptz`,
};

/**
 * The hourly rollups grow by the rows the batch inserted, counted in the sink (it knows them:
 * the rows it COPYed): one statement for all three, rows in key order so that two sinks
 * lock in the same order. A device is counted in an hour once its (hour, device) is new to
 * the set.
 */
const ROLL_UP = `
  with by_hour as (
    insert into events_hourly (hour, type, country, device_type, events)
    select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::bigint[]) order by 1, 2, 3, 4
    on conflict (hour, type, country, device_type) do update set events = events_hourly.events + excluded.events
  ), new_devices as (
    insert into events_hourly_device_set (hour, device_id)
    select * from unnest($6::timestamptz[], $7::text[]) order by 1, 2
    on conflict do nothing
    returning hour
  )
  insert into events_hourly_devices (hour, devices)
  select hour, count(*) from new_devices group by hour order by hour
  on conflict (hour) do update set devices = events_hourly_devices.devices + excluded.devices`;

/** unique_violation: another sink committed one of the batch's rows while this one wrote it. */
const UNIQUE_VIOLATION = '23505';
const WRITE_ATTEMPTS = 3;

/**
 * The sink's connection to PostgreSQL: a small pool, the schema migrated once per process,
 * day partitions created ahead (and on demand for older days) and dropped after the retention.
 */
export class SinkStore {
  private readonly pool: pg.Pool;
  private prepared: Promise<void> | undefined;
  private readonly days = new Set<number>();
  private lastMaintenance = 0;
  private readonly seenDevices = new SeenDevices();

  constructor(private readonly options: SinkStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      application_name: 'pushtech-postgres-sink',
    });
    // An idle connection that breaks (PostgreSQL restarted) is not a crash of the sink.
    this.pool.on('error', (error) => options.logger.warn({ err: error }, 'postgres_sink: idle connection lost'));
  }

  /** Migrations (once per process) and partition upkeep (hourly). */
  async prepare(now = Date.now()): Promise<void> {
    this.prepared ??= this.withClient(async (client) => {
      const applied = await migrate(client);
      if (applied.length > 0) this.options.logger.info({ versions: applied }, 'postgres_sink: schema migrated');
    }).catch((error: unknown) => {
      this.prepared = undefined;
      throw error;
    });
    await this.prepared;
    if (now - this.lastMaintenance >= MAINTENANCE_MS) await this.maintain(now);
  }

  /** Creates the partitions of the next days, drops the expired ones. */
  async maintain(now = Date.now()): Promise<string[]> {
    return this.withClient(async (client) => {
      const ahead = daysAhead(now, this.options.partitionsAheadDays);
      await createDayPartitions(client, ahead);
      this.days.clear();
      for (const day of ahead) this.days.add(day);
      const dropped = await dropExpiredPartitions(client, now, this.options.retentionDays);
      if (dropped.length > 0)
        this.options.logger.info({ partitions: dropped }, 'postgres_sink: expired partitions dropped');
      this.lastMaintenance = now;
      return dropped;
    });
  }

  /** A real write (an upsert of the probe row): fails while PostgreSQL is down, full or read-only. */
  async probe(): Promise<void> {
    await this.prepare();
    await this.withClient((client) =>
      client.query(
        `insert into pushtech_sink_probe (sink, probed_at) values ('postgres_sink', now())
         on conflict (sink) do update set probed_at = excluded.probed_at`,
      ),
    );
  }

  /**
   * Writes a batch in one transaction: the ids already in `events` looked up, the other rows
   * COPYed straight into `events`, the rollups grown by those rows.
   *
   * Only ids a device minted (`id_src=client`) can come back with another receive time (the
   * client's retry, received later), so only those are looked up at first. An id the tracker
   * minted comes back only as a replay of the same message, with the same receive time: the
   * COPY then fails on the primary key `(id, received_at)`, and the batch is written again
   * with every id looked up. So is a batch whose row another sink committed meanwhile.
   */
  async write(events: readonly ConsumedEvent[]): Promise<BatchOutcome> {
    if (events.length === 0) return { inserted: 0, duplicates: 0 };
    const unique = firstOfEachId(events);
    const rows = encodeRows(unique);
    const days = new Set(unique.map((e) => dayOf(e.receivedAt)));
    await this.prepare();
    const missing = [...days].filter((d) => !this.days.has(d));
    return this.withClient(async (client) => {
      if (missing.length > 0) {
        await createDayPartitions(client, missing);
        for (const d of missing) this.days.add(d);
      }
      for (let attempt = 1; ; attempt++) {
        try {
          // The first time only the ids a device minted are looked up; after a conflict, all.
          const inserted = await this.writeOnce(client, unique, rows, attempt > 1);
          return { inserted, duplicates: events.length - inserted };
        } catch (error: unknown) {
          if (attempt >= WRITE_ATTEMPTS || (error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
        }
      }
    });
  }

  /** One transaction; returns the rows inserted. */
  private async writeOnce(
    client: pg.PoolClient,
    events: readonly ConsumedEvent[],
    rows: CopyRows,
    lookUpAll: boolean,
  ): Promise<number> {
    await client.query('begin');
    try {
      const known = await knownRows(client, events, lookUpAll);
      const rollup = new BatchRollup();
      for (let i = 0; i < events.length; i++) if (!known.has(i)) rollup.add(events[i] as ConsumedEvent);
      if (rollup.events > 0) {
        const data = known.size === 0 ? rows.bytes : keptRows(rows, (i) => !known.has(i));
        await pipeline(
          Readable.from([data]),
          client.query(copyFrom(`copy events (${copyColumns.join(', ')}) from stdin`)),
        );
        await client.query(ROLL_UP, rollup.parameters(this.seenDevices));
      }
      await client.query('commit');
      this.seenDevices.addAll(rollup.devices);
      return rollup.events;
    } catch (error: unknown) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async withClient<T>(run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error: unknown) {
      throw transient(error, `PostgreSQL unavailable: ${describe(error)}`);
    }
    let broken: unknown;
    // The pool listens only on idle connections: one lost while checked out (PostgreSQL killed
    // mid-batch) fails its query and is also emitted as 'error', which would end the process.
    const lost = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', lost);
    try {
      return await run(client);
    } catch (error: unknown) {
      if (isPostgresOutage(error)) broken ??= error;
      throw asOutage(error);
    } finally {
      client.off('error', lost);
      // A connection that failed with an outage is not given back for reuse.
      client.release(broken === undefined ? undefined : true);
    }
  }
}

/** Each id once, at its earliest receive time (a client's retry in the same batch counts once). */
function firstOfEachId(events: readonly ConsumedEvent[]): readonly ConsumedEvent[] {
  const byId = new Map<string, ConsumedEvent>();
  for (const e of events) {
    const seen = byId.get(e.id);
    if (seen === undefined || e.receivedAt < seen.receivedAt) byId.set(e.id, e);
  }
  return byId.size === events.length ? events : [...byId.values()];
}

/** Values an array literal takes as they are (ULIDs, ISO times): no quoting, no escaping. */
const PLAIN_ELEMENT = /^[0-9A-Za-z:.-]+$/;

/** A text[] parameter: the literal written here when no element needs quoting (the usual case). */
function textArray(values: readonly string[]): string | readonly string[] {
  return values.every((v) => PLAIN_ELEMENT.test(v) && v.toUpperCase() !== 'NULL') ? `{${values.join(',')}}` : values;
}

/** How far apart a client's retry can be received from its first send: a day either way. */
const RETRY_WINDOW_MS = 86_400_000;

/**
 * The indexes of the events whose id is in `events` already, received within a day of them:
 * every event's, or (`all` false) those whose id a device minted.
 */
async function knownRows(client: pg.PoolClient, events: readonly ConsumedEvent[], all: boolean): Promise<Set<number>> {
  const indexOf = new Map<string, number>();
  let first = Infinity;
  let last = -Infinity;
  events.forEach((e, i) => {
    if (!all && e.meta.idSource !== 'client') return;
    indexOf.set(e.id, i);
    if (e.receivedAt < first) first = e.receivedAt;
    if (e.receivedAt > last) last = e.receivedAt;
  });
  const known = new Set<number>();
  if (indexOf.size === 0) return known;
  const { rows } = await client.query<{ id: string; ms: number }>({
    ...KNOWN_IDS,
    values: [textArray([...indexOf.keys()]), isoTime(first - RETRY_WINDOW_MS), isoTime(last + RETRY_WINDOW_MS)],
  });
  for (const row of rows) {
    const i = indexOf.get(row.id) as number;
    if (Math.abs(row.ms - (events[i] as ConsumedEvent).receivedAt) <= RETRY_WINDOW_MS) known.add(i);
  }
  return known;
}
