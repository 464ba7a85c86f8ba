/**
 * How `npm start` shows a service's output: one line per event, prefixed with the service's
 * name. Services write JSON (pino); with LOG_FORMAT=pretty the devstack turns each JSON line
 * into one readable line itself, so that an object or an error never spreads over several
 * lines and interleaves with the other services' output.
 */
import type { LogFormat } from '@pushtech/runtime';

const LEVELS: Readonly<Record<string, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};
/** Fields every line carries or that have their own place on the line. */
const PLACED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'err']);

export function formatServiceLine(service: string, line: string, format: LogFormat): string {
  const prefix = `[${service}]`;
  if (format === 'json') return `${prefix} ${line}`;
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `${prefix} ${line}`;
    entry = parsed as Record<string, unknown>;
  } catch {
    return `${prefix} ${line}`; // npm's own output, a crash's stack trace: as it came
  }
  const time = typeof entry['time'] === 'string' ? entry['time'].slice(11, 23) : '';
  const level = LEVELS[text(entry['level'])] ?? text(entry['level']).toUpperCase();
  const fields = Object.entries(entry)
    .filter(([key]) => !PLACED.has(key))
    .map(([key, value]) => `${key}=${show(value)}`);
  const err = describeErr(entry['err']);
  return [prefix, time, level, text(entry['msg']), ...fields, ...(err ? [`err=${show(err)}`] : [])]
    .filter((part) => part !== '')
    .join(' ');
}

/** An error as one line: type, message and the causes' messages (the stack stays in JSON mode). */
function describeErr(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return err === undefined ? undefined : text(err);
  const parts: string[] = [];
  for (let e: unknown = err; typeof e === 'object' && e !== null && parts.length < 5;) {
    const { type, message, cause } = e as { type?: unknown; message?: unknown; cause?: unknown };
    parts.push(`${typeof type === 'string' ? `${type}: ` : ''}${text(message)}`);
    e = cause;
  }
  return parts.join(' <- caused by ');
}

/** A field as text: strings as they are, anything else as JSON. */
function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

function show(value: unknown): string {
  const oneLine = text(value).replace(/\r?\n/g, '\\n');
  return typeof value === 'string' && /[\s"]/.test(oneLine) ? JSON.stringify(value) : oneLine;
}
