import { ipToHex, isEventId } from '@pushtech/event';
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

/** A dead letter: the entry as it was in Redis, the reason and the intended topic in headers. */
export function deadLetterMessage(options: {
  entry: string;
  error: string;
  originalTopic: string;
  id?: string | undefined;
  redact: boolean;
  /** An entry above this is cut short (header `truncated`), or the dead letter would not fit either. */
  maxBytes: number;
}): OutgoingMessage {
  let value = options.redact ? redactRawEntry(options.entry) : options.entry;
  // A UTF-16 unit is at most 3 UTF-8 bytes; a quarter of the budget in units always fits.
  const truncated = value.length * 3 > options.maxBytes && Buffer.byteLength(value) > options.maxBytes;
  if (truncated) value = value.slice(0, Math.floor(options.maxBytes / 4));
  return {
    key: null,
    value,
    headers: {
      error: options.error,
      original_topic: options.originalTopic,
      ...(options.id !== undefined ? { id: options.id } : {}),
      ...(truncated ? { truncated: 'true' } : {}),
    },
  };
}
