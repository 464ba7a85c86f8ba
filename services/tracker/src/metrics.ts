import {
  Counter,
  Gauge,
  Histogram,
  hotCounter,
  latencyBucketsMs,
  type CountCell,
  type Registry,
} from '@pushtech/runtime';

export interface TrackerMetrics {
  /**
   * Counts answered requests of one route by status, in cells of a hotCounter (added to
   * pushtech_tracker_requests_total when it is read).
   */
  requestCounter(route: string): (status: number) => void;
  readonly stored: Counter;
  readonly rejected: Counter<'reason'>;
  readonly pushLatency: Histogram;
  readonly pushBatchSize: Histogram;
  readonly queueLength: Gauge;
  /** The in-flight gauge is read at scrape time, not updated per request. */
  onCollectInFlight(read: () => number): void;
}

export function createTrackerMetrics(registry: Registry): TrackerMetrics {
  let readInFlight = (): number => 0;
  const requests = hotCounter({
    name: 'pushtech_tracker_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: 'pushtech_tracker_in_flight_requests',
    help: 'Tracking requests received and not yet answered',
    registers: [registry],
    collect() {
      this.set(readInFlight());
    },
  });
  return {
    onCollectInFlight(read) {
      readInFlight = read;
    },
    requestCounter(route) {
      const byStatus = new Map<number, CountCell>();
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
      help: 'Events refused with 503 (redis_down, redis_error, queue_full)',
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
      help: 'Events per LPUSH (requests batched per event-loop turn)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers: [registry],
    }),
    queueLength: new Gauge({
      name: 'pushtech_tracker_queue_length',
      help: 'Events waiting in the Redis list',
      registers: [registry],
    }),
  };
}
