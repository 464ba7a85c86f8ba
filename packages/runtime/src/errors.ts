import { redactUrl } from './redaction.js';

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
  // kafkastore's lease on its processing list: another instance holds it, or it was lost.
  'PT_ERR_LEASE_HELD',
  'PT_ERR_LEASE_LOST',
  // The consumer kit's (packages/consumer-kit).
  'PT_ERR_CONSUMER_DEFINITION',
  'PT_ERR_CONSUMER_UNKNOWN',
  'PT_ERR_CONSUMER_NO_REDIS',
  'PT_ERR_CONSUMER_OUTAGE',
  'PT_ERR_CONSUMER_STOPPED',
  'PT_ERR_CONSUMER_UNDECODABLE',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** What each code means and what to do about it, one line each (docs/configuration.md lists them). */
export const errorCodeMeanings: Readonly<Record<ErrorCode, string>> = {
  PT_ERR_CONFIG:
    'A setting is missing or invalid; the message names each variable, what it had and what is accepted. Fix the environment or .env.',
  PT_ERR_KAFKA_CONNECT:
    'A Kafka client could not connect to KAFKA_BROKERS (brokers down, unreachable, or a wrong address). kafkastore retries; check the brokers.',
  PT_ERR_KAFKA_PRODUCE:
    'Kafka did not acknowledge a batch (acks=all), so it stays in Redis and is retried; lasting failures point at the brokers or the topic.',
  PT_ERR_KAFKA_ADMIN:
    'A Kafka admin request failed: a topic is missing or could not be created or described. Create the topic or check the ACLs.',
  PT_ERR_SHUTDOWN_TIMEOUT:
    "Reserved for a graceful stop that outlasts SHUTDOWN_TIMEOUT_MS; today the process logs 'shutdown timed out; exiting anyway' and exits non-zero.",
  PT_ERR_LEASE_HELD:
    'Another kafkastore with the same KAFKASTORE_INSTANCE holds the processing list; give each instance its own name (the host name by default).',
  PT_ERR_LEASE_LOST:
    "kafkastore lost its processing list's lease (Redis lost it, or another instance took it over) and stops; the next start takes it again.",
  PT_ERR_CONSUMER_DEFINITION:
    'A consumer is defined or selected wrongly (bad name, duplicate, CONSUMER_GROUP_ID with several consumers, dedup misuse); fix its module or the selection.',
  PT_ERR_CONSUMER_UNKNOWN: 'No consumer is selected: set CONSUMER_NAME, or CONSUMERS to names or all.',
  PT_ERR_CONSUMER_NO_REDIS:
    'A selected consumer needs Redis but REDIS_URL is unset, or a consumer uses ctx.redis without declaring redis: true.',
  PT_ERR_CONSUMER_OUTAGE:
    'A dependency of a consumer (Redis, disk) is down: the consumer pauses and retries the batch; nothing is dead-lettered or committed meanwhile.',
  PT_ERR_CONSUMER_STOPPED:
    'The consumer is stopping: the batch in hand is left uncommitted and is read again after the restart.',
  PT_ERR_CONSUMER_UNDECODABLE:
    'A message on the topic is not a valid pipeline event; the consumer dead-letters it (reason undecodable) and goes on.',
};

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

/**
 * A one-line description of any thrown value, for logs and error messages; a URL's password in
 * it is replaced by `***`, as it may be printed where the logger does not redact (stderr).
 */
export function describeError(error: unknown): string {
  return redactUrl(error instanceof Error ? error.message : String(error));
}
