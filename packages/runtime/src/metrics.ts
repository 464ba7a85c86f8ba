import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export { AggregatorRegistry, Counter, Gauge, Histogram, Registry };
export type { MetricObjectWithValues, MetricValue };

/**
 * A service's Prometheus registry with process metrics, labelled with the service name. Each
 * service owns one registry (never the prom-client global), so tests can build several side by
 * side.
 */
export function createMetricsRegistry(service: string, options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop lag is sampled every 100 ms, not prom-client's 10 ms: its timer wakes an
  // idle process 100 times a second (~0.5 % of a core on a shared 2-core machine).
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'pushtech_', eventLoopMonitoringPrecision: 100 });
    // prom-client adds a collector kind's series at its first collection, and a quiet process
    // (kafidx with no browser) can go minutes without one: its dashboard's GC panel said "No
    // data" instead of 0. Each kind starts at zero, as Prometheus advises for known labels.
    const gc = registry.getSingleMetric(GC_HISTOGRAM);
    if (gc instanceof Histogram) for (const kind of GC_KINDS) gc.zero({ kind });
  }
  return registry;
}

/** prom-client's garbage-collection histogram, with the registry's prefix, and its `kind`s. */
const GC_HISTOGRAM = 'pushtech_nodejs_gc_duration_seconds';
const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'] as const;

/** Millisecond latency buckets from sub-millisecond to tens of seconds. */
export const latencyBucketsMs = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** The count of one label set, bumped on a hot path as a plain number (`cell.n++`). */
export interface CountCell {
  n: number;
}

export interface HotCounter<T extends string> {
  readonly counter: Counter<T>;
  /** A new cell for `labels`; callers keep it and bump it. */
  cell(labels: Record<T, string>): CountCell;
}

/**
 * A labelled counter for hot paths. prom-client hashes the label values on every inc(), which
 * costs more than a cache lookup or a whole pixel's bookkeeping; callers bump plain-number
 * cells instead, and the cells are added to the counter whenever it is read (a scrape).
 */
export function hotCounter<T extends string>(config: {
  name: string;
  help: string;
  labelNames: readonly T[];
  registers: Registry[];
}): HotCounter<T> {
  const cells: { labels: Record<T, string>; cell: CountCell }[] = [];
  const counter = new Counter<T>({
    ...config,
    collect() {
      for (const { labels, cell } of cells) {
        this.inc(labels, cell.n);
        cell.n = 0;
      }
    },
  });
  return {
    counter,
    cell(labels) {
      const cell = { n: 0 };
      cells.push({ labels, cell });
      return cell;
    },
  };
}
