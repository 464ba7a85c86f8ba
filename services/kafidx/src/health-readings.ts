import { parseNumber, type Exposition } from './prom-text.js';

/**
 * What the health strip reads from one scrape of one service's /metrics, and how two scrapes
 * become rates and a klag p99 (the way Prometheus' increase() and histogram_quantile() do it).
 */

/** The pipeline stage a counter counts: events stored in Redis, produced to Kafka, handled by a consumer. */
export type Stage = 'stored' | 'produced' | 'handled';

const counters: Readonly<Record<string, Stage>> = {
  pushtech_tracker_events_stored_total: 'stored',
  pushtech_kafkastore_events_produced_total: 'produced',
  pushtech_consumer_events_handled_total: 'handled',
};
const queues = {
  pushtech_tracker_queue_length: 'tracker',
  pushtech_kafkastore_queue_depth: 'kafkastore',
} as const;
const KLAG_BUCKET = 'pushtech_kafkastore_klag_ms_bucket';
const LAG = 'pushtech_consumer_lag';

/** A histogram whose buckets cannot be read (no or a non-numeric `le`). */
export class MalformedHistogram extends Error {
  override readonly name = 'MalformedHistogram';
}

export interface CounterSeries {
  readonly stage: Stage;
  /** The consumer it counts for (the `consumer` label); '' for the tracker and kafkastore. */
  readonly consumer: string;
  readonly value: number;
}

export interface Reading {
  /** When the answer arrived, in ms of a monotonic clock (performance.now()). */
  readonly at: number;
  /** Events waiting in the Redis list, as the tracker or kafkastore sees it; undefined: not exported. */
  readonly queue: { readonly seenBy: 'tracker' | 'kafkastore'; readonly depth: number } | undefined;
  /** Each series of the stage counters, by its full label set. */
  readonly counters: ReadonlyMap<string, CounterSeries>;
  /** The klag histogram's cumulative buckets (le in ms -> count), summed over its series. */
  readonly klagBuckets: ReadonlyMap<number, number> | undefined;
  /** Messages behind, per consumer, summed over topics and partitions. */
  readonly lag: ReadonlyMap<string, number>;
}

export function readHealth(exposition: Exposition, at: number): Reading {
  const depths = new Map<'tracker' | 'kafkastore', number>();
  const counterSeries = new Map<string, CounterSeries>();
  let klagBuckets: Map<number, number> | undefined;
  const lag = new Map<string, number>();
  for (const sample of exposition.samples) {
    const { name, labels, value } = sample;
    const stage = counters[name];
    if (stage !== undefined) {
      counterSeries.set(seriesKey(name, labels), { stage, consumer: labels['consumer'] ?? '', value });
    } else if (name === 'pushtech_tracker_queue_length' || name === 'pushtech_kafkastore_queue_depth') {
      const seenBy = queues[name];
      depths.set(seenBy, (depths.get(seenBy) ?? 0) + value);
    } else if (name === KLAG_BUCKET) {
      const le = parseNumber(labels['le'] ?? '');
      if (le === undefined || Number.isNaN(le)) throw new MalformedHistogram(`${name} has no numeric le label`);
      klagBuckets ??= new Map();
      klagBuckets.set(le, (klagBuckets.get(le) ?? 0) + value);
    } else if (name === LAG) {
      const consumer = labels['consumer'] ?? '';
      lag.set(consumer, (lag.get(consumer) ?? 0) + value);
    }
  }
  // The tracker's reading is Redis' answer at scrape time; kafkastore's is as of its last batch.
  const seenBy: 'tracker' | 'kafkastore' | undefined = depths.has('tracker')
    ? 'tracker'
    : depths.has('kafkastore')
      ? 'kafkastore'
      : undefined;
  const queue = seenBy === undefined ? undefined : { seenBy, depth: depths.get(seenBy) ?? 0 };
  return { at, queue, counters: counterSeries, klagBuckets, lag };
}

function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return JSON.stringify([name, ...Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
}

export interface StageRate {
  readonly stage: Stage;
  readonly consumer: string;
  readonly perSecond: number;
}

/**
 * Events per second of each stage (and consumer) between two readings of one target. A series
 * that went down was reset (the service restarted): all of its current value is new, as
 * Prometheus' increase() takes it; a series that was not there before started from zero.
 */
export function stageRates(before: Reading, after: Reading): StageRate[] {
  const seconds = (after.at - before.at) / 1000;
  if (!(seconds > 0)) return [];
  const sums = new Map<string, { stage: Stage; consumer: string; increase: number }>();
  for (const [key, series] of after.counters) {
    const previous = before.counters.get(key)?.value ?? 0;
    const increase = series.value >= previous ? series.value - previous : series.value;
    const id = `${series.stage}\u0000${series.consumer}`;
    const sum = sums.get(id) ?? { stage: series.stage, consumer: series.consumer, increase: 0 };
    sum.increase += increase;
    sums.set(id, sum);
  }
  return [...sums.values()]
    .map(({ stage, consumer, increase }) => ({ stage, consumer, perSecond: increase / seconds }))
    .sort((a, b) => a.stage.localeCompare(b.stage) || a.consumer.localeCompare(b.consumer));
}

/**
 * The observations a cumulative histogram gained between two readings, bucket by bucket. A
 * bucket that went down means the service restarted: the current counts are all new.
 */
export function bucketIncrease(
  before: ReadonlyMap<number, number> | undefined,
  after: ReadonlyMap<number, number>,
): Map<number, number> {
  const reset = before === undefined || [...after].some(([le, count]) => count < (before.get(le) ?? 0));
  return new Map([...after].map(([le, count]) => [le, reset ? count : count - (before.get(le) ?? 0)]));
}

/**
 * The q-quantile of cumulative buckets (le -> count), interpolated linearly inside the bucket it
 * falls in, as Prometheus' histogram_quantile(): the first bucket starts at 0; in the +Inf
 * bucket it is the highest finite bound. Undefined when there is no observation or no +Inf bucket.
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const last = sorted.at(-1);
  if (sorted.length < 2 || last === undefined || last[0] !== Infinity) return undefined;
  // Counts must not go down with le; a scrape between two bucket updates can make them do so.
  let max = 0;
  const cumulative = sorted.map(([le, count]) => {
    max = Math.max(max, count);
    return { le, count: max };
  });
  const total = max;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  const b = cumulative.findIndex((bucket) => bucket.count >= rank);
  const bucket = cumulative[b];
  if (bucket === undefined) return undefined;
  if (b === cumulative.length - 1) return cumulative[b - 1]?.le;
  if (b === 0 && bucket.le <= 0) return bucket.le;
  const below = b === 0 ? { le: 0, count: 0 } : (cumulative[b - 1] ?? { le: 0, count: 0 });
  const inBucket = bucket.count - below.count;
  return below.le + (bucket.le - below.le) * ((rank - below.count) / inBucket);
}

/** Adds bucket maps le by le (several kafkastores make one klag p99, like sum by (le)). */
export function addBuckets(maps: readonly ReadonlyMap<number, number>[]): Map<number, number> {
  const sum = new Map<number, number>();
  for (const map of maps) for (const [le, count] of map) sum.set(le, (sum.get(le) ?? 0) + count);
  return sum;
}
