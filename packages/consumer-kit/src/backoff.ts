import { ConsumerKitError } from './errors.js';

export interface RetryPolicy {
  /** Attempts after the first one. */
  readonly maxRetries: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with jitter (half fixed, half random), capped. */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(retry - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Waits `ms`, or rejects as soon as the consumer is stopping: a retry is not worth a late stop. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(stopped());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function stopped(): ConsumerKitError {
  return new ConsumerKitError('PT_ERR_CONSUMER_STOPPED', 'consumer stopping: the batch is left uncommitted');
}
