/**
 * The consumer kit's error codes. A code names a condition the consumer author or operator can
 * act on; the message says what to do.
 */
export const consumerKitErrorCodes = [
  'PT_ERR_CONSUMER_DEFINITION',
  'PT_ERR_CONSUMER_UNKNOWN',
  'PT_ERR_CONSUMER_NO_REDIS',
  'PT_ERR_CONSUMER_OUTAGE',
  'PT_ERR_CONSUMER_STOPPED',
] as const;

export type ConsumerKitErrorCode = (typeof consumerKitErrorCodes)[number];

export class ConsumerKitError extends Error {
  readonly code: ConsumerKitErrorCode;

  constructor(code: ConsumerKitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsumerKitError';
    this.code = code;
  }
}

export function isConsumerKitError(error: unknown, code?: ConsumerKitErrorCode): error is ConsumerKitError {
  return error instanceof ConsumerKitError && (code === undefined || error.code === code);
}
