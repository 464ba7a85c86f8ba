import { decodeMessage } from '@pushtech/event';
import type { IncomingMessage } from '@pushtech/runtime';
import type { TrackingEvent } from '@pushtech/event';

/**
 * One Kafka message as the browser gets it, serialised once per message and shared by every
 * socket that wants it. A message that does not decode is still shown (as such), never hidden.
 */
export interface PreparedEvent {
  readonly event: TrackingEvent | undefined;
  readonly json: string;
}

export function prepareEvent(message: IncomingMessage): PreparedEvent {
  const raw = message.value?.toString('utf8') ?? '';
  const decoded = decodeMessage(raw);
  const base = { partition: message.partition, offset: message.offset, kafkaTs: message.timestamp, raw };
  if (!decoded.ok) return { event: undefined, json: JSON.stringify({ ...base, error: decoded.error }) };
  const { extra, ...meta } = decoded.value.meta;
  return {
    event: decoded.value,
    json: JSON.stringify({
      ...base,
      type: decoded.value.type,
      meta: { ...meta, ...Object.fromEntries(extra) },
      params: decoded.value.params,
    }),
  };
}

/**
 * One consumer batch as offered to every browser. Most browsers take all of it (no filter, not
 * over their rate), and they all get the same bytes: `payload` is the events' JSON joined and
 * encoded once per batch, not once per browser.
 */
export class LiveBatch {
  private encoded: Buffer | undefined;

  constructor(readonly events: readonly PreparedEvent[]) {}

  /** The events as the inside of a JSON array (`a,b,c`), in UTF-8; built on first use. */
  payload(): Buffer {
    this.encoded ??= Buffer.from(this.events.map((e) => e.json).join(','), 'utf8');
    return this.encoded;
  }
}
