import { PushtechError, type ErrorCode } from '@pushtech/runtime';

/**
 * The consumer kit's errors: the codes live in the one catalog of the runtime
 * (`PT_ERR_CONSUMER_*`); a code names a condition the consumer author or operator can act on,
 * the message says what to do.
 */
export type ConsumerKitErrorCode = Extract<ErrorCode, `PT_ERR_CONSUMER_${string}`>;

export class ConsumerKitError extends PushtechError {
  declare readonly code: ConsumerKitErrorCode;

  constructor(code: ConsumerKitErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ConsumerKitError';
  }
}

export function isConsumerKitError(error: unknown, code?: ConsumerKitErrorCode): error is ConsumerKitError {
  return error instanceof ConsumerKitError && (code === undefined || error.code === code);
}
