import { deadLetterHeaders, ipToHex, isEventId, type DeadLetterReason } from '@pushtech/event';
import type { OutgoingMessage } from '@pushtech/runtime';
import { truncateIp } from './anonymize-ip.js';

/**
 * With IP anonymisation on, a dead letter must not carry the full address either. A raw hit is
 * a JSON array with the IP fourth; when an entry is shaped like that, the IP is truncated (or
 * blanked when it is not an address). Entries of any other shape are kept as they are: there
 * is no IP field to find in them.
 */
export function redactRawEntry(entry: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry);
  } catch {
    return entry;
  }
  if (!Array.isArray(parsed) || typeof parsed[3] !== 'string') return entry;
  const fields: unknown[] = parsed;
  const ip = fields[3] as string;
  fields[3] = ipToHex(ip).ok ? truncateIp(ip) : '';
  return JSON.stringify(fields);
}

/** The event id of an entry that did not decode, when it still has one in its place. */
export function idOfRawEntry(entry: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(entry);
    const id: unknown = Array.isArray(parsed) ? parsed[1] : undefined;
    return typeof id === 'string' && isEventId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** kafkastore's stages that dead-letter an entry, and the reason each is filed under. */
const reasonOfStage = {
  decode: 'undecodable',
  encode: 'unencodable',
  size: 'too_large',
  kafka: 'rejected_by_broker',
} as const satisfies Record<string, DeadLetterReason>;
export type DeadLetterStage = keyof typeof reasonOfStage;

/**
 * A dead letter: the entry as it was in Redis, whole (only its IP redacted when anonymising),
 * with the headers of the dead-letter contract (packages/event). Never cut short: the entry
 * was acknowledged to a client, and a dead letter is how it can be looked at and re-driven.
 * One the dead-letter topic cannot take goes to the oversized list instead (drain-loop.ts).
 */
export function deadLetterMessage(options: {
  entry: string;
  stage: DeadLetterStage;
  error: string;
  originalTopic: string;
  id?: string | undefined;
  redact: boolean;
  now: number;
}): OutgoingMessage {
  return {
    key: null,
    value: options.redact ? redactRawEntry(options.entry) : options.entry,
    headers: deadLetterHeaders({
      source: 'kafkastore',
      reason: reasonOfStage[options.stage],
      error: options.error,
      payload: 'raw-entry',
      originalTopic: options.originalTopic,
      time: options.now,
      id: options.id,
    }),
  };
}
