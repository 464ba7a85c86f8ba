import { Counter, Gauge, type Registry } from '@pushtech/runtime';

export interface KafidxMetrics {
  readonly eventsIn: Counter;
  readonly sent: Counter;
  readonly skipped: Counter;
  readonly sockets: Gauge;
  readonly live: Gauge;
  readonly loginsFailed: Counter;
  readonly loginsThrottled: Counter;
  readonly replaysRefused: Counter;
  readonly healthScrapes: Counter<'target' | 'result'>;
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
    live: new Gauge({
      name: 'pushtech_kafidx_live',
      help: 'Whether the live consumer fetches (1) or is paused because no browser watches (0)',
      registers: [registry],
    }),
    loginsFailed: new Counter({
      name: 'pushtech_kafidx_logins_failed_total',
      help: 'Logins refused for a wrong token',
      registers: [registry],
    }),
    loginsThrottled: new Counter({
      name: 'pushtech_kafidx_logins_throttled_total',
      help: 'Logins refused (429) because their address sent too many wrong tokens',
      registers: [registry],
    }),
    replaysRefused: new Counter({
      name: 'pushtech_kafidx_replays_refused_total',
      help: 'Replays refused by the per-session limits (one at a time, a rate per minute)',
      registers: [registry],
    }),
    healthScrapes: new Counter({
      name: 'pushtech_kafidx_health_scrapes_total',
      help: "Scrapes of KAFIDX_HEALTH_TARGETS for the page's health strip (only while a browser watches), by target and result (ok, failed)",
      labelNames: ['target', 'result'],
      registers: [registry],
    }),
  };
}
