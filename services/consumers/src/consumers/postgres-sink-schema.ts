import type { PoolClient } from 'pg';

/**
 * The sink's schema, as versioned migrations applied in order at start. A migration is never
 * edited once released: a change is a new one. Applied versions are recorded in
 * `pushtech_schema_migrations`; concurrent starts (several pods) take an advisory lock first.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'events partitioned by day, hourly rollups',
    sql: `
      create table events (
        id text not null,
        received_at timestamptz not null,
        type text not null,
        device_time timestamptz,
        device_id text,
        ip inet,
        country text,
        city text,
        region text,
        latitude double precision,
        longitude double precision,
        device_type text,
        browser text,
        browser_version text,
        engine text,
        os text,
        os_version text,
        vendor text,
        model text,
        bot boolean,
        host text,
        pod text,
        klag bigint,
        params jsonb not null,
        primary key (id, received_at)
      ) partition by range (received_at);

      -- Events per hour by type, country and device type ('' when unknown).
      create table events_hourly (
        hour timestamptz not null,
        type text not null,
        country text not null,
        device_type text not null,
        events bigint not null,
        primary key (hour, type, country, device_type)
      );
      -- Every device seen in an hour, so that the distinct count stays exact across batches,
      -- replays and sink instances: a device is counted when its row is new.
      create table events_hourly_device_set (
        hour timestamptz not null,
        device_id text not null,
        primary key (hour, device_id)
      );
      create table events_hourly_devices (
        hour timestamptz primary key,
        devices bigint not null
      );
      -- The dependency probe's row: a real write, so a full disk shows before any event is held.
      create table pushtech_sink_probe (
        sink text primary key,
        probed_at timestamptz not null
      );
    `,
  },
];

const LOCK_KEY = 7_240_024; // pg_advisory_xact_lock key of the sink's migrations

/** Applies the migrations not applied yet; returns the versions it applied. */
export async function migrate(client: PoolClient, known: readonly Migration[] = migrations): Promise<number[]> {
  await client.query('begin');
  try {
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(
      `create table if not exists pushtech_schema_migrations (
         version integer primary key,
         name text not null,
         applied_at timestamptz not null default now()
       )`,
    );
    const applied = new Set(
      (await client.query<{ version: number }>('select version from pushtech_schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const newest = Math.max(0, ...known.map((m) => m.version));
    const ahead = [...applied].filter((v) => v > newest);
    if (ahead.length > 0) {
      throw new Error(
        `the database's schema is at version ${Math.max(...ahead)}, newer than this sink knows (${newest}): run a sink of that version or newer`,
      );
    }
    const done: number[] = [];
    for (const m of [...known].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('insert into pushtech_schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    await client.query('commit');
    return done;
  } catch (error: unknown) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

const DAY_MS = 86_400_000;

/** The UTC day (ms at 00:00) of a time. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `events_20261203`: the partition of the UTC day starting at `day`. */
export function partitionName(day: number): string {
  return `events_${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Creates the day partitions that do not exist yet (concurrent creators are fine). */
export async function createDayPartitions(client: PoolClient, days: readonly number[]): Promise<void> {
  for (const day of days) {
    const from = new Date(day).toISOString();
    const to = new Date(day + DAY_MS).toISOString();
    try {
      await client.query(
        `create table if not exists ${partitionName(day)} partition of events for values from ('${from}') to ('${to}')`,
      );
    } catch (error: unknown) {
      // Another sink created it between our check and our create.
      const code = (error as { code?: unknown }).code;
      if (code !== '42P07' && code !== '23505') throw error;
    }
  }
}

/**
 * Drops the day partitions that ended more than `retentionDays` ago (whole days: a partition
 * goes once all of it is older), and the hourly device sets of those days. The hourly counts
 * are small and kept.
 */
export async function dropExpiredPartitions(client: PoolClient, now: number, retentionDays: number): Promise<string[]> {
  const cutoff = dayOf(now) - retentionDays * DAY_MS;
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       join pg_class p on p.oid = i.inhparent
      where p.relname = 'events' and c.relname ~ '^events_[0-9]{8}$'`,
  );
  const expired = rows
    .map((r) => r.name)
    .filter((name) => {
      const day = Date.parse(`${name.slice(7, 11)}-${name.slice(11, 13)}-${name.slice(13, 15)}T00:00:00Z`);
      return day + DAY_MS <= cutoff;
    })
    .sort();
  for (const name of expired) await client.query(`drop table if exists ${name}`);
  await client.query('delete from events_hourly_device_set where hour < $1', [new Date(cutoff)]);
  return expired;
}

/** Today and the next `ahead` days (UTC). */
export function daysAhead(now: number, ahead: number): number[] {
  return Array.from({ length: ahead + 1 }, (_, i) => dayOf(now) + i * DAY_MS);
}
