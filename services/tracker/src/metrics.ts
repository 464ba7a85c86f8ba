import {
  Counter,
  Gauge,
  Histogram,
  hotCounter,
  latencyBucketsMs,
  type CountCell,
  type Registry,
} from '@pushtech/runtime/core';

export interface TrackerMetrics {
  /**
   * Counts settled requests of one route by status, or `aborted` when the client went away
   * first, in cells of a hotCounter (added to pushtech_tracker_requests_total when it is read).
   */
  requestCounter(route: string): (status: number | 'aborted') => void;
  readonly stored: Counter;
  readonly rejected: Counter<'reason'>;
  readonly pushLatency: Histogram;
  readonly pushBatchSize: Histogram;
  readonly queueLength: Gauge;
  /** TRACKER_MAX_QUEUE, so that alerts and dashboards read the queue as a share of its cap. */
  readonly maxQueue: Gauge;
  /** The in-flight gauge is read at scrape time, not updated per request. */
  onCollectInFlight(read: () => number): void;
  /** Refreshes the queue-length gauge at scrape time (nothing polls Redis between scrapes). */
  onCollectQueueLength(refresh: () => Promise<void>): void;
}

export function createTrackerMetrics(registry: Registry): TrackerMetrics {
  let readInFlight = (): number => 0;
  let refreshQueueLength = (): Promise<void> => Promise.resolve();
  const requests = hotCounter({
    name: 'pushtech_tracker_requests_total',
    help: 'HTTP requests settled, by route and status (aborted: the client went away before the answer)',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: 'pushtech_tracker_in_flight_requests',
    help: 'Tracking requests received and not yet answered',
    registers: [registry],
    // Workers of one supervisor (TRACKER_WORKERS) report one aggregate: the sum of theirs.
    aggregator: 'sum',
    collect() {
      this.set(readInFlight());
    },
  });
  return {
    onCollectInFlight(read) {
      readInFlight = read;
    },
    onCollectQueueLength(refresh) {
      refreshQueueLength = refresh;
    },
    requestCounter(route) {
      const byStatus = new Map<number | 'aborted', CountCell>();
      return (status) => {
        let cell = byStatus.get(status);
        if (!cell) {
          cell = requests.cell({ route, status: String(status) });
          byStatus.set(status, cell);
        }
        cell.n += 1;
      };
    },
    stored: new Counter({
      name: 'pushtech_tracker_events_stored_total',
      help: 'Events confirmed by Redis',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'pushtech_tracker_events_rejected_total',
      help: 'Events refused with 503 (redis_down, redis_error, queue_full, no_writer_lease)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    pushLatency: new Histogram({
      name: 'pushtech_tracker_redis_push_ms',
      help: 'Latency of one LPUSH batch, ms',
      buckets: latencyBucketsMs,
      registers: [registry],
    }),
    pushBatchSize: new Histogram({
      name: 'pushtech_tracker_push_batch_events',
      help: 'Events per LPUSH (the requests of TRACKER_PUSH_LINGER_MS share one)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers: [registry],
    }),
    queueLength: new Gauge({
      name: 'pushtech_tracker_queue_length',
      help: 'Events waiting in the Redis list (read at scrape time and from every LPUSH reply)',
      registers: [registry],
      // Every worker reads the same list: one length, not a sum (reads a moment apart differ).
      aggregator: 'max',
      async collect() {
        await refreshQueueLength();
      },
    }),
    maxQueue: new Gauge({
      name: 'pushtech_tracker_max_queue',
      help: 'TRACKER_MAX_QUEUE: above this many waiting events the tracker answers 503',
      registers: [registry],
      // One setting shared by every worker.
      aggregator: 'first',
    }),
  };
}
