import { decodeRawHit } from '@pushtech/event';
import type { IpAnonymizer } from './anonymize-ip.js';
import { idOfRawEntry } from './dead-letter.js';
import type { DeviceLookup } from './device.js';
import type { GeoLookup } from './geoip.js';
import { createMessageWriter } from './message-writer.js';
import { describeError } from '@pushtech/runtime';

/** The outcome of one Redis entry: a Kafka message, or a dead letter with the reason. */
export type EntryOutcome =
  | {
      readonly kind: 'ok';
      readonly id: string;
      readonly key: string | null;
      readonly value: string;
      readonly klag: number;
    }
  | {
      readonly kind: 'dead-letter';
      readonly stage: 'decode' | 'encode' | 'size';
      readonly error: string;
      /** The event id when the entry decoded that far. */
      readonly id?: string;
    };

export interface EntryProcessorDeps {
  readonly lookupGeo: GeoLookup;
  readonly lookupDevice: DeviceLookup;
  readonly anonymizeIp: IpAnonymizer;
  /** The params field whose value is the message key; '' for none. */
  readonly partitionKey: string;
  /** Events whose message would be larger (EVENT_MAX_MESSAGE_BYTES) are dead-lettered, whole. */
  readonly maxMessageBytes: number;
}

/**
 * Decode -> GeoIP -> device -> anonymise -> encode, for one entry of the Redis list. Bad data
 * is an outcome, never an exception: one broken entry must not stop the queue.
 */
export function createEntryProcessor(deps: EntryProcessorDeps): (entry: string, now: number) => EntryOutcome {
  const writer = createMessageWriter({ partitionKey: deps.partitionKey });
  return function processEntry(entry: string, now: number): EntryOutcome {
    const decoded = decodeRawHit(entry);
    if (!decoded.ok) return { kind: 'dead-letter', stage: 'decode', error: decoded.error, id: idOfRawEntry(entry) };
    const hit = decoded.value;
    // GeoIP needs the full address; anonymisation comes after it and before anything is sent.
    const geo = deps.lookupGeo(hit.ip);
    const device = deps.lookupDevice(hit.ua);
    const klag = now - hit.ts;
    let value: string;
    let key: string | null;
    try {
      ({ value, key } = writer.write(hit, device, geo, deps.anonymizeIp(hit.ip), klag));
    } catch (error: unknown) {
      // The writer only refuses values the decoder would refuse; decodeRawHit should have
      // caught them already, so this is a contract gap worth a dead letter, not a crash.
      return {
        kind: 'dead-letter',
        stage: 'encode',
        error: `cannot encode the event: ${describeError(error)}`,
        id: hit.id,
      };
    }
    // A UTF-8 byte is at most 3 per UTF-16 unit, so most messages skip the exact count.
    if (value.length * 3 > deps.maxMessageBytes && Buffer.byteLength(value) > deps.maxMessageBytes) {
      return {
        kind: 'dead-letter',
        stage: 'size',
        error: `the event's message is ${Buffer.byteLength(value)} bytes, above EVENT_MAX_MESSAGE_BYTES=${deps.maxMessageBytes}`,
        id: hit.id,
      };
    }
    return { kind: 'ok', id: hit.id, key, value, klag };
  };
}
