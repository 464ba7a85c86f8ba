/**
 * The catalog of error codes raised by the runtime kit and the services. A code names a
 * condition an operator can act on; the message says what to do about it.
 */
export const errorCodes = [
  'PT_ERR_CONFIG',
  'PT_ERR_KAFKA_CONNECT',
  'PT_ERR_KAFKA_PRODUCE',
  'PT_ERR_KAFKA_ADMIN',
  'PT_ERR_SHUTDOWN_TIMEOUT',
  // The consumer kit's (packages/consumer-kit).
  'PT_ERR_CONSUMER_DEFINITION',
  'PT_ERR_CONSUMER_UNKNOWN',
  'PT_ERR_CONSUMER_NO_REDIS',
  'PT_ERR_CONSUMER_OUTAGE',
  'PT_ERR_CONSUMER_STOPPED',
  'PT_ERR_CONSUMER_UNDECODABLE',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class PushtechError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PushtechError';
    this.code = code;
  }
}

export function isPushtechError(error: unknown, code?: ErrorCode): error is PushtechError {
  return error instanceof PushtechError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, for logs and error messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
