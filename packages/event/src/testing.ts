/**
 * Test helpers of the wire format, for every workspace's tests (a development-only export:
 * `@pushtech/event/testing` does not resolve in production and is not built into dist/).
 */
import { newEventId } from './ids.js';
import type { EventMeta } from './meta.js';
import type { TrackingEvent } from './message.js';
import type { ParamList } from './params.js';

/**
 * A valid event: the example of ARCHITECTURE.md's "The Kafka message", with the time now and a
 * fresh id unless given. Every field can be overridden.
 */
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
