import { Counter, Gauge, type Registry } from '@pushtech/runtime';

export interface KafidxMetrics {
  readonly eventsIn: Counter;
  readonly sent: Counter;
  readonly skipped: Counter;
  readonly sockets: Gauge;
}

export function createKafidxMetrics(registry: Registry): KafidxMetrics {
  return {
    eventsIn: new Counter({
      name: 'pushtech_kafidx_events_in_total',
      help: 'Events read from Kafka',
      registers: [registry],
    }),
    sent: new Counter({
      name: 'pushtech_kafidx_events_sent_total',
      help: 'Events sent to browsers (all sockets)',
      registers: [registry],
    }),
    skipped: new Counter({
      name: 'pushtech_kafidx_events_skipped_total',
      help: 'Events not sent because a browser could not keep up',
      registers: [registry],
    }),
    sockets: new Gauge({ name: 'pushtech_kafidx_sockets', help: 'Open browser connections', registers: [registry] }),
  };
}
