// ULIDs (https://github.com/ulid/spec), the pipeline's own id format: 10 Crockford base32
// digits of millisecond time, then 16 random digits. Within one millisecond (or when the clock
// goes back) the random part of the previous id is incremented, so ids from one device sort in
// the order they were minted.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Fills the array with random bytes (crypto.getRandomValues on every platform the SDK runs on). */
export type RandomFill = (bytes: Uint8Array) => unknown;

/** Returns a monotonic ULID generator; `now` is the current time in ms since the epoch. */
export function createUlid(random: RandomFill): (now: number) => string {
  const digits = new Uint8Array(16);
  /** The id's 26 character codes; the 10 of the time change once a millisecond. */
  const codes: number[] = [];
  let last = -1;
  return (now) => {
    if (now > last) {
      random(digits);
      // 256 is a multiple of 32: a masked random byte is a uniform digit.
      for (let i = 0; i < 16; i++) digits[i] = (digits[i] as number) & 31;
      last = now;
      for (let t = now, i = 9; i >= 0; i--, t = Math.floor(t / 32)) codes[i] = ALPHABET.charCodeAt(t % 32);
    } else {
      let i = 15;
      while (i >= 0 && digits[i] === 31) digits[i--] = 0;
      // 2^80 ids in one millisecond cannot happen; the digits then simply wrap to zero.
      if (i >= 0) digits[i] = (digits[i] as number) + 1;
    }
    for (let i = 0; i < 16; i++) codes[10 + i] = ALPHABET.charCodeAt(digits[i] as number);
    // One flat string rather than 26 appended pieces: the queue holds it, and every piece
    // would be one more object for the garbage collector (that made track() cost 6.5 µs).
    return String.fromCharCode.apply(null, codes);
  };
}
