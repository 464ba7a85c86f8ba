import { createEventIdGenerator, encodeRawHit, type RawHit } from '@pushtech/event';

const nextId = createEventIdGenerator();

/** A raw hit as the tracker stores it; fields can be overridden. */
export function rawHit(overrides: Partial<RawHit> = {}): RawHit {
  return {
    id: nextId(),
    ts: Date.now(),
    ip: '81.2.69.160',
    host: 't.example.com',
    pod: '10.1.2.3',
    type: 'app_open',
    params: 'deviceid=abcdef&ts=123456&referrer=website',
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    ...overrides,
  };
}

/** The tracker's write: newest at the head of the list (LPUSH). */
export function encodeHits(hits: readonly RawHit[]): string[] {
  return hits.map(encodeRawHit);
}
