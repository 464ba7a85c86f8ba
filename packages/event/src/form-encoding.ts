import { toWellFormed } from './well-formed.js';

// One name or value of application/x-www-form-urlencoded text. Encoding is
// encodeURIComponent with space as '+': it never leaves a raw space or control character,
// which is what lets the Kafka message split on spaces.

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const PERCENT = 37;

export function encodeFormComponent(text: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    // URIError: a lone surrogate. Rare, so well-formedness is checked only after the fact.
    encoded = encodeURIComponent(toWellFormed(text));
  }
  return encoded.includes('%20') ? encoded.replaceAll('%20', '+') : encoded;
}

/**
 * Decodes as browsers do (the URL standard's urlencoded parser): '+' is a space, a '%' not
 * followed by two hex digits stays literal, bytes that are not UTF-8 become U+FFFD.
 * Expects well-formed input.
 */
export function decodeFormComponent(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return decodePercentLeniently(spaced);
  }
}

function decodePercentLeniently(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const out = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    if (byte === PERCENT && i + 2 < bytes.length) {
      const high = hexValue(bytes[i + 1] ?? 0);
      const low = hexValue(bytes[i + 2] ?? 0);
      if (high >= 0 && low >= 0) {
        out[length++] = high * 16 + low;
        i += 2;
        continue;
      }
    }
    out[length++] = byte;
  }
  return utf8.decode(out.subarray(0, length));
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 65 && byte <= 70) return byte - 55;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
}
