/** Exponential backoff with full jitter, so several instances do not retry in lockstep. */
export interface Backoff {
  /** The pause before the next attempt, growing up to the maximum. */
  next(): number;
  reset(): void;
  readonly failures: number;
}

export function createBackoff(options: { initialMs: number; maxMs: number }): Backoff {
  let failures = 0;
  return {
    next() {
      failures += 1;
      const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(failures - 1, 20));
      return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    },
    reset() {
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
