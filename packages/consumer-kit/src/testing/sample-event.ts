import { newEventId, type EventMeta, type ParamList, type TrackingEvent } from '@pushtech/event';

/** A valid event for tests; every field can be overridden. */
export function sampleEvent(
  overrides: { type?: string; meta?: Partial<EventMeta>; params?: ParamList } = {},
): TrackingEvent {
  const meta: EventMeta = {
    type: 'Mobile',
    browser: 'Safari',
    engine: 'WebKit',
    version: '17.0',
    os: 'iOS',
    host: 't.example.com',
    ts: Date.now(),
    ip: '192.0.2.1',
    klag: 12,
    country: 'DE',
    city: 'Berlin',
    id: newEventId(),
    pod: '10.1.2.3',
    extra: [],
    ...overrides.meta,
  };
  return { type: overrides.type ?? 'app_open', meta, params: overrides.params ?? [['deviceid', 'abcdf']] };
}
