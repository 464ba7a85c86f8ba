import pg from 'pg';
import type { Logger } from '@pushtech/runtime';

const HOUR_MS = 3_600_000;

/** What the Insights view shows: the PostgreSQL sink's hourly rollups of the last 48 hours. */
export interface InsightsData {
  /** The first hour shown (ms, UTC hour start); the view covers 48 hours from it. */
  readonly from: number;
  readonly hours: number;
  /** Events per hour by type: each type's 48 counts, the busiest types first. */
  readonly byType: readonly { readonly type: string; readonly counts: readonly number[] }[];
  readonly topCountries: readonly { readonly name: string; readonly events: number }[];
  readonly topDeviceTypes: readonly { readonly name: string; readonly events: number }[];
  /** Distinct devices (`deviceid`) per hour. */
  readonly devices: readonly number[];
}

/**
 * Reads the rollups the PostgreSQL sink (consumers' `postgres_sink`) keeps: `events_hourly`
 * and `events_hourly_devices`. kafidx only reads; a small pool, used only when a page asks.
 */
export class InsightsSource {
  private readonly pool: pg.Pool;

  constructor(url: string, logger: Logger) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      application_name: 'pushtech-kafidx',
    });
    this.pool.on('error', (error) => logger.warn({ err: error }, 'insights: idle PostgreSQL connection lost'));
  }

  async read(now = Date.now(), hours = 48, topTypes = 6): Promise<InsightsData> {
    const from = Math.floor(now / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS;
    const since = new Date(from);
    const index = (hour: Date): number => Math.round((hour.getTime() - from) / HOUR_MS);
    const [types, countries, deviceTypes, devices] = await Promise.all([
      this.pool.query<{ hour: Date; type: string; events: string }>(
        'select hour, type, sum(events)::bigint as events from events_hourly where hour >= $1 group by 1, 2',
        [since],
      ),
      this.top('country', since),
      this.top('device_type', since),
      this.pool.query<{ hour: Date; devices: string }>(
        'select hour, devices from events_hourly_devices where hour >= $1',
        [since],
      ),
    ]);
    const perType = new Map<string, number[]>();
    for (const row of types.rows) {
      const i = index(row.hour);
      if (i < 0 || i >= hours) continue;
      const counts = perType.get(row.type) ?? new Array<number>(hours).fill(0);
      counts[i] = (counts[i] ?? 0) + Number(row.events);
      perType.set(row.type, counts);
    }
    const total = (counts: readonly number[]): number => counts.reduce((a, b) => a + b, 0);
    const ranked = [...perType].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
    const byType = ranked.slice(0, topTypes).map(([type, counts]) => ({ type, counts }));
    const rest = ranked.slice(topTypes);
    if (rest.length > 0) {
      const counts = new Array<number>(hours).fill(0);
      for (const [, c] of rest) c.forEach((n, i) => (counts[i] = (counts[i] ?? 0) + n));
      byType.push({ type: `${rest.length} other types`, counts });
    }
    const perHourDevices = new Array<number>(hours).fill(0);
    for (const row of devices.rows) {
      const i = index(row.hour);
      if (i >= 0 && i < hours) perHourDevices[i] = Number(row.devices);
    }
    return { from, hours, byType, topCountries: countries, topDeviceTypes: deviceTypes, devices: perHourDevices };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async top(column: 'country' | 'device_type', since: Date): Promise<{ name: string; events: number }[]> {
    const { rows } = await this.pool.query<{ name: string; events: string }>(
      `select ${column} as name, sum(events)::bigint as events from events_hourly
        where hour >= $1 group by 1 order by 2 desc, 1 limit 10`,
      [since],
    );
    return rows.map((r) => ({ name: r.name, events: Number(r.events) }));
  }
}
