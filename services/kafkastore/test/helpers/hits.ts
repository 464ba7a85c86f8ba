import { createEventIdGenerator, encodeRawHit, type RawHit } from '@pushtech/event';
import type { Redis } from 'ioredis';

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

/** The tracker side of a test: fresh hits pushed onto the incoming list until stopped. */
export interface HitStream {
  /** The ids of the hits Redis accepted so far, in push order. */
  readonly ids: string[];
  /** Stops pushing and waits for the push in flight; rejects with a push's error. */
  stop(): Promise<void>;
}

export interface HitStreamOptions {
  /** Hits per LPUSH. */
  readonly perPush: number;
  /** The pause after each push. */
  readonly everyMs: number;
  /**
   * A refused push is not accepted and not counted (the tracker would answer 503), and the
   * stream goes on; otherwise the first failure ends the stream and stop() rejects with it.
   */
  readonly skipRefused?: boolean;
}

/** Pushes `perPush` fresh hits every `everyMs` onto `key`, as the tracker stores them. */
export function streamHits(redis: Pick<Redis, 'lpush'>, key: string, options: HitStreamOptions): HitStream {
  const ids: string[] = [];
  let streaming = true;
  const done = (async () => {
    while (streaming) {
      const hits = Array.from({ length: options.perPush }, () => rawHit());
      try {
        await redis.lpush(key, ...encodeHits(hits));
        ids.push(...hits.map((h) => h.id));
      } catch (error: unknown) {
        if (!options.skipRefused) throw error;
      }
      await new Promise((r) => setTimeout(r, options.everyMs));
    }
  })();
  return {
    ids,
    stop: () => {
      streaming = false;
      return done;
    },
  };
}
