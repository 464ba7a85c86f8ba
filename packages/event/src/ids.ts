import { randomFillSync } from 'node:crypto';

// Event ids are ULIDs (https://github.com/ulid/spec): 10 Crockford base32 digits of
// millisecond time, then 16 of randomness. Sorting ids as strings sorts them by time.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_DIGITS = 10;
const RANDOM_DIGITS = 16;
const ID_LENGTH = TIME_DIGITS + RANDOM_DIGITS;
const MAX_TIME = 2 ** 48 - 1;

// The random part is kept as 12 high digits (cached as text with the time) and a 20-bit
// counter for the last 4 digits, so the common case of many ids in one millisecond costs a
// counter increment and two table lookups.
const HIGH_DIGITS = 12;
const LOW_LIMIT = 2 ** 20;
const POOL_BYTES = 16 * 1024;

const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT_VALUE[ALPHABET.charCodeAt(i)] = i;

const DIGIT_PAIRS: readonly string[] = Array.from(
  { length: 1024 },
  (_, n) => ALPHABET.charAt(n >>> 5) + ALPHABET.charAt(n & 31),
);

export type EventIdGenerator = () => string;

export interface EventIdGeneratorOptions {
  /** Current time in ms since the epoch; defaults to Date.now. */
  now?: () => number;
  /** Fills the buffer with random bytes; defaults to crypto.randomFillSync. */
  random?: (buf: Uint8Array) => void;
}

/**
 * Returns a generator of ULIDs that are strictly increasing: within one millisecond (or when
 * the clock goes back) the random part of the previous id is incremented, as the ULID spec's
 * monotonic mode does. When that part overflows, the id moves on to the next millisecond
 * instead of failing.
 */
export function createEventIdGenerator(opts: EventIdGeneratorOptions = {}): EventIdGenerator {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? randomFillSync;
  const pool = new Uint8Array(POOL_BYTES);
  let poolOffset = POOL_BYTES;
  const high = new Uint8Array(HIGH_DIGITS);
  let low = 0;
  // Below any valid time, so the first call always validates the clock.
  let lastTime = Number.NEGATIVE_INFINITY;
  let timeText = '';
  let prefix = '';

  function startMillisecond(time: number): void {
    if (poolOffset + RANDOM_DIGITS > POOL_BYTES) {
      random(pool);
      poolOffset = 0;
    }
    // 256 is a multiple of 32, so masking a random byte gives a uniform digit.
    for (let i = 0; i < HIGH_DIGITS; i++) high[i] = (pool[poolOffset + i] ?? 0) & 31;
    low = 0;
    for (let i = HIGH_DIGITS; i < RANDOM_DIGITS; i++) low = low * 32 + ((pool[poolOffset + i] ?? 0) & 31);
    poolOffset += RANDOM_DIGITS;
    lastTime = time;
    timeText = encodeTime(time);
    prefix = timeText + encodeHigh(high);
  }

  function increment(): void {
    low++;
    if (low < LOW_LIMIT) return;
    low = 0;
    for (let i = HIGH_DIGITS - 1; i >= 0; i--) {
      const digit = (high[i] ?? 0) + 1;
      if (digit < 32) {
        high[i] = digit;
        prefix = timeText + encodeHigh(high);
        return;
      }
      high[i] = 0;
    }
    if (lastTime >= MAX_TIME) throw new RangeError('event id: time and randomness exhausted');
    startMillisecond(lastTime + 1);
  }

  return function nextEventId(): string {
    const time = now();
    if (time <= lastTime) increment();
    else if (Number.isInteger(time) && time >= 0 && time <= MAX_TIME) startMillisecond(time);
    else throw new RangeError(`event id: clock returned ${time}, expected an integer ms in [0, 2^48)`);
    return prefix + (DIGIT_PAIRS[low >>> 10] ?? '') + (DIGIT_PAIRS[low & 1023] ?? '');
  };
}

/** A new event id from the process-wide generator (monotonic within this process). */
export const newEventId: EventIdGenerator = createEventIdGenerator();

/** True for a canonical ULID: 26 uppercase Crockford base32 digits, time within 48 bits. */
export function isEventId(text: string): boolean {
  if (typeof text !== 'string' || text.length !== ID_LENGTH) return false;
  // A first digit above 7 would need more than 48 bits of time; below 0 is no digit at all.
  const first = digitAt(text, 0);
  if (first < 0 || first > 7) return false;
  for (let i = 1; i < ID_LENGTH; i++) if (digitAt(text, i) < 0) return false;
  return true;
}

/** The millisecond time in an event id; throws a TypeError if `id` is not an event id. */
export function eventIdTime(id: string): number {
  if (!isEventId(id)) throw new TypeError(`event id: ${JSON.stringify(id)} is not a ULID`);
  let time = 0;
  for (let i = 0; i < TIME_DIGITS; i++) time = time * 32 + digitAt(id, i);
  return time;
}

function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? (DIGIT_VALUE[code] ?? -1) : -1;
}

function encodeTime(time: number): string {
  let text = '';
  for (let i = 0; i < TIME_DIGITS; i++) {
    text = ALPHABET.charAt(time % 32) + text;
    time = Math.floor(time / 32);
  }
  return text;
}

function encodeHigh(digits: Uint8Array): string {
  let text = '';
  for (const digit of digits) text += ALPHABET.charAt(digit);
  return text;
}
