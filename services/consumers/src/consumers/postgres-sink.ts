import { defineConsumer } from '@pushtech/consumer-kit';
import { Counter, setting, type Logger, type Registry } from '@pushtech/runtime';
import { SinkStore } from './postgres-sink-store.js';

/** One store per PostgreSQL URL and process (the consumer's batches of every partition share it). */
const stores = new Map<string, SinkStore>();
const rowCounters = new WeakMap<Registry, Counter<'outcome'>>();

function rowsCounter(registry: Registry): Counter<'outcome'> {
  let counter = rowCounters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'pushtech_postgres_sink_rows_total',
      help: 'Events the PostgreSQL sink handled: inserted, or duplicate (its id was already in events)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    rowCounters.set(registry, counter);
  }
  return counter;
}

/**
 * Writes every event into PostgreSQL: table `events` (typed meta columns, params as jsonb),
 * partitioned by UTC day of receive time, and the hourly rollups `events_hourly` (by type,
 * country and device type) and `events_hourly_devices` (distinct `deviceid`s), all in one
 * transaction per batch. Each id counts once: a replay or a client's retry is skipped by the
 * insert, and the rollups only grow by rows that were inserted. See docs/sinks.md.
 *
 * PostgreSQL down, full or restarting is an outage (the batch waits, nothing is dead-lettered
 * or committed); only an event PostgreSQL itself refuses is dead-lettered.
 */
export const postgresSink = defineConsumer({
  name: 'postgres_sink',
  settings: {
    /** The database the sink writes to; a secret (it may hold a password): never printed. */
    POSTGRES_URL: setting.string({
      pattern: /^postgres(ql)?:\/\/\S+$/,
      accepts: 'a URL starting with postgres:// or postgresql://',
      secret: true,
    }),
    /** Days of events kept: a day's partition of `events` is dropped once it is older. */
    POSTGRES_RETENTION_DAYS: setting.integer({ min: 1, max: 36_500, default: 30 }),
    /** Day partitions created ahead of today (hourly), so a day never starts without one. */
    POSTGRES_PARTITIONS_AHEAD_DAYS: setting.integer({ min: 1, max: 60, default: 3 }),
    /** Connections of the sink's pool in one process. */
    POSTGRES_POOL_SIZE: setting.integer({ min: 1, max: 100, default: 4 }),
  },
  async checkDependencies(ctx) {
    await storeFor(ctx).probe();
  },
  async handleBatch(events, ctx) {
    const outcome = await storeFor(ctx).write(events);
    const rows = rowsCounter(ctx.metrics);
    rows.inc({ outcome: 'inserted' }, outcome.inserted);
    if (outcome.duplicates > 0) rows.inc({ outcome: 'duplicate' }, outcome.duplicates);
  },
});

function storeFor(ctx: {
  config: {
    POSTGRES_URL: string;
    POSTGRES_RETENTION_DAYS: number;
    POSTGRES_PARTITIONS_AHEAD_DAYS: number;
    POSTGRES_POOL_SIZE: number;
  };
  logger: Logger;
  signal: AbortSignal;
}): SinkStore {
  const url = ctx.config.POSTGRES_URL;
  let store = stores.get(url);
  if (!store) {
    const created = new SinkStore({
      url,
      retentionDays: ctx.config.POSTGRES_RETENTION_DAYS,
      partitionsAheadDays: ctx.config.POSTGRES_PARTITIONS_AHEAD_DAYS,
      poolSize: ctx.config.POSTGRES_POOL_SIZE,
      logger: ctx.logger,
    });
    stores.set(url, created);
    // The process is stopping: close the pool once (the kit aborts the signal at stop).
    ctx.signal.addEventListener(
      'abort',
      () => {
        stores.delete(url);
        void created.close().catch(() => undefined);
      },
      { once: true },
    );
    store = created;
  }
  return store;
}
