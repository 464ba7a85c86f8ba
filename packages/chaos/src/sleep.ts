/** Waits `ms` milliseconds (none when negative), for pacing faults and polls. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
