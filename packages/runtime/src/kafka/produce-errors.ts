import { describeError } from '../errors.js';
import type { ProduceFailure } from './types.js';

/**
 * Broker answers that blame the records themselves: no retry of the same records can change
 * them, so the drain loop isolates the record and dead-letters it whole. Everything else is
 * retried with backoff: leaders moving, replicas missing, timeouts, the network, an error not
 * known here, and also refusals that blame the request or the principal (not authorised, bad
 * acks, an unknown compression): those hold for every record alike, so dead-lettering would
 * turn a misconfiguration into a pipeline of dead letters; the stage pauses, not ready, until
 * it is fixed. kafkajs calls CORRUPT_MESSAGE retriable (a bit flip on the wire); a record the
 * broker finds corrupt twice in a row is the record's fault, and the client has retried it by then.
 */
const RECORD_AT_FAULT = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
]);

/** Kafka renamed NOT_LEADER_FOR_PARTITION (kafkajs's name) to NOT_LEADER_OR_FOLLOWER (the broker's). */
const ALIASES: Readonly<Record<string, string>> = { NOT_LEADER_FOR_PARTITION: 'NOT_LEADER_OR_FOLLOWER' };

export function isRetriableProduceError(code: string): boolean {
  return !RECORD_AT_FAULT.has(code);
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/**
 * The Kafka error name inside a client error: kafkajs's KafkaJSProtocolError has `type`,
 * @platformatic/kafka's ProtocolError `apiId`; both clients wrap them (retries exhausted, a
 * response with errors, an aggregate of attempts), so causes and nested errors are searched.
 */
function findCode(error: unknown, depth = 0): string | undefined {
  if (depth > 8 || typeof error !== 'object' || error === null) return undefined;
  for (const name of ['type', 'apiId']) {
    const code = field(error, name);
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return ALIASES[code] ?? code;
  }
  const nested = field(error, 'errors');
  if (Array.isArray(nested)) {
    for (let i = nested.length - 1; i >= 0; i--) {
      const code = findCode(nested[i], depth + 1);
      if (code !== undefined) return code;
    }
  }
  return findCode(field(error, 'cause'), depth + 1);
}

function transportCode(error: unknown, depth = 0): string | undefined {
  if (depth > 8 || !(error instanceof Error)) return undefined;
  if (/timeout|timed out/i.test(error.name) || /timed? ?out/i.test(error.message)) return 'TIMEOUT';
  if (
    /Connection|Network/i.test(error.name) ||
    /ECONN|EPIPE|ENOTFOUND|EHOSTUNREACH|socket|closed/i.test(error.message)
  ) {
    return 'NETWORK';
  }
  const nested: unknown = error instanceof AggregateError ? (error.errors as unknown[]).at(-1) : undefined;
  return transportCode(nested ?? error.cause, depth + 1);
}

/** A client's produce error as a classified failure; `message` is a one-line description. */
export function classifyProduceError(error: unknown, message = describeError(error)): ProduceFailure {
  const code = findCode(error) ?? transportCode(error) ?? 'UNKNOWN';
  return { code, retriable: isRetriableProduceError(code), message };
}
