import type { OutgoingMessage } from './types.js';

/**
 * The fixed part of a v2 record batch (base offset, length, leader epoch, magic, CRC, attributes,
 * last offset delta, two timestamps, producer id and epoch, base sequence, record count). The
 * broker compares the whole batch, this included, with the topic's max.message.bytes.
 */
export const RECORD_BATCH_OVERHEAD = 61;

/**
 * The most one record adds to a batch besides its key, value and header bytes: length,
 * attributes, timestamp delta, offset delta, key and value lengths and header count, each a
 * varint at its widest. An upper bound, so a batch counted with it never exceeds the limit.
 */
const RECORD_OVERHEAD = 36;
/** Per header: the widest varints of its name and value lengths. */
const HEADER_OVERHEAD = 10;

function byteLength(value: string | Buffer): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** At most how many bytes `message` adds to an uncompressed record batch. */
export function recordBytes(message: OutgoingMessage, valueBytes = byteLength(message.value)): number {
  let bytes = RECORD_OVERHEAD + valueBytes;
  if (message.key !== undefined && message.key !== null) bytes += byteLength(message.key);
  if (message.headers) {
    for (const name in message.headers) {
      bytes += HEADER_OVERHEAD + Buffer.byteLength(name) + Buffer.byteLength(message.headers[name] as string);
    }
  }
  return bytes;
}
