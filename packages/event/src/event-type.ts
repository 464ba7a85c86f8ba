import { quote } from './quote.js';
import { fail, ok, type Result } from './result.js';
import { toWellFormed } from './well-formed.js';

// The first field of the Kafka message: the last path segment of /t/<event_type>,
// percent-encoded like a URI component (so '+' is a literal plus here, unlike in the
// urlencoded meta and params fields).

/** Throws a TypeError for an empty type: every event has one. */
export function encodeEventType(type: string): string {
  if (type === '') throw new TypeError('message: event type must not be empty');
  try {
    return encodeURIComponent(type);
  } catch {
    return encodeURIComponent(toWellFormed(type));
  }
}

export function decodeEventType(field: string): Result<string> {
  if (field === '') return fail('message: empty event type');
  try {
    return ok(toWellFormed(decodeURIComponent(field)));
  } catch {
    return fail(`message: event type is not valid percent-encoding: ${quote(field)}`);
  }
}
