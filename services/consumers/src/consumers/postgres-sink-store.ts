import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { transient, type ConsumedEvent } from '@pushtech/consumer-kit';
import type { Logger } from '@pushtech/runtime';
import { copyColumns, copyRow } from './postgres-sink-rows.js';
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

const STAGING = 'pushtech_sink_staging';

/**
 * One statement, after the batch is in the staging table: the rows whose id is not in `events`
 * yet (within a day of their receive time, so a client's retry received later counts once),
 * each id once, inserted; the hourly rollups grow by exactly what was inserted. The lookup is
 * a LATERAL ... LIMIT 1, one primary-key probe per row: as NOT EXISTS the planner made it a
 * hash anti join over all of `events`, which grew with the table (426 ms a batch at 20,000 rows).
 */
const INSERT_AND_ROLL_UP = `
  with fresh as (
    select distinct on (s.id) s.* from ${STAGING} s
      left join lateral (
        select true as known from events e
         where e.id = s.id
           and e.received_at between s.received_at - interval '1 day' and s.received_at + interval '1 day'
         limit 1
      ) k on true
     where k.known is null
     order by s.id, s.received_at
  ), inserted as (
    insert into events (${copyColumns.join(', ')})
    select ${copyColumns.join(', ')} from fresh
    on conflict do nothing
    returning received_at, type, country, device_type, device_id
  ), by_hour as (
    insert into events_hourly (hour, type, country, device_type, events)
    select date_trunc('hour', received_at, 'UTC'), type, coalesce(country, ''), coalesce(device_type, ''), count(*)
      from inserted group by 1, 2, 3, 4 order by 1, 2, 3, 4
    on conflict (hour, type, country, device_type) do update set events = events_hourly.events + excluded.events
  ), new_devices as (
    insert into events_hourly_device_set (hour, device_id)
    select distinct date_trunc('hour', received_at, 'UTC'), device_id from inserted
     where device_id is not null order by 1, 2
    on conflict do nothing
    returning hour
  ), device_counts as (
    insert into events_hourly_devices (hour, devices)
    select hour, count(*) from new_devices group by hour order by hour
    on conflict (hour) do update set devices = events_hourly_devices.devices + excluded.devices
  )
  select count(*)::int as inserted from inserted`;

/**
 * The sink's connection to PostgreSQL: a small pool, the schema migrated once per process,
 * day partitions created ahead (and on demand for older days) and dropped after the retention.
 */
export class SinkStore {
  private readonly pool: pg.Pool;
  private prepared: Promise<void> | undefined;
  private readonly days = new Set<number>();
  private lastMaintenance = 0;
  private readonly staged = new WeakSet<pg.PoolClient>();

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

  /** Writes a batch in one transaction: COPY into staging, one insert, the rollups. */
  async write(events: readonly ConsumedEvent[]): Promise<BatchOutcome> {
    if (events.length === 0) return { inserted: 0, duplicates: 0 };
    let text = '';
    const days = new Set<number>();
    for (const e of events) {
      text += copyRow(e);
      days.add(dayOf(e.receivedAt));
    }
    await this.prepare();
    const missing = [...days].filter((d) => !this.days.has(d));
    return this.withClient(async (client) => {
      if (missing.length > 0) {
        await createDayPartitions(client, missing);
        for (const d of missing) this.days.add(d);
      }
      if (!this.staged.has(client)) {
        await client.query(
          `create temp table if not exists ${STAGING} (like events including defaults) on commit delete rows`,
        );
        this.staged.add(client);
      }
      await client.query('begin');
      try {
        await pipeline(
          Readable.from([text]),
          client.query(copyFrom(`copy ${STAGING} (${copyColumns.join(', ')}) from stdin`)),
        );
        const { rows } = await client.query<{ inserted: number }>(INSERT_AND_ROLL_UP);
        await client.query('commit');
        const inserted = rows[0]?.inserted ?? 0;
        return { inserted, duplicates: events.length - inserted };
      } catch (error: unknown) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    });
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
