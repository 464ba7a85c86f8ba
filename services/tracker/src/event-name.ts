import { HttpError } from './http-error.js';

export const MAX_EVENT_NAME_BYTES = 128;

// JSON can carry "\ud800" escapes that are no text at all.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// C0 controls, DEL and C1 controls: they break logs and terminals downstream.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Checks a decoded event name; returns a reason when it is unacceptable. */
export function eventNameProblem(name: string): string | undefined {
  if (name === '') return 'the event name is empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_EVENT_NAME_BYTES)
    return `the event name is ${bytes} bytes long; at most ${MAX_EVENT_NAME_BYTES} are allowed`;
  const control = CONTROL.exec(name);
  if (control)
    return `the event name contains the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
  if (name.includes('\uFFFD')) return 'the event name is not valid UTF-8';
  if (LONE_SURROGATE.test(name)) return 'the event name contains a lone UTF-16 surrogate';
  return undefined;
}

/**
 * The event type from the raw (percent-encoded) last path segment of `/t/<event>`. Bad
 * percent-encoding and invalid UTF-8 are refused here, so they never reach Kafka.
 */
export function decodeEventName(rawSegment: string): string {
  let name: string;
  try {
    name = decodeURIComponent(rawSegment);
  } catch {
    throw new HttpError(
      400,
      'invalid event name',
      `the event name ${JSON.stringify(rawSegment.slice(0, 64))} is not valid percent-encoded UTF-8`,
    );
  }
  const problem = eventNameProblem(name);
  if (problem) throw new HttpError(400, 'invalid event name', problem);
  return name;
}
