import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Optional write keys: with none configured every request may write. Keys are compared as
 * SHA-256 digests with timingSafeEqual, so neither content nor length leaks through timing.
 */
export interface WriteKeys {
  readonly required: boolean;
  accepts(candidate: string | undefined): boolean;
}

export function createWriteKeys(keys: readonly string[]): WriteKeys {
  const digests = keys.map(digest);
  return {
    required: digests.length > 0,
    accepts(candidate) {
      if (digests.length === 0) return true;
      if (candidate === undefined || candidate === '') return false;
      const d = digest(candidate);
      let match = false;
      for (const k of digests) match = timingSafeEqual(k, d) || match;
      return match;
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
