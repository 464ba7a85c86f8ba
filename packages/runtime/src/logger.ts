import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactUrl } from './redaction.js';

export type Logger = PinoLogger;
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];
export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** JSON lines in production; a human-readable format for local development. */
  format?: LogFormat;
  /** Where lines go; stdout by default. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * The one pino logger of a service; components get children with their own bindings. No line
 * it writes holds a URL's password (see redaction.ts).
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // `err` keeps type, message, stack and the whole `cause` chain as nested objects (pino's
    // default serializer flattens the causes into one message and drops their fields).
    serializers: { err: serializeError },
    // On the finished line, so every string is covered: message, fields, bindings, serialized
    // errors (a client's message or stack may quote the URL it was given).
    hooks: { streamWrite: redactUrl },
  };
  if (options.format === 'pretty' && !options.destination) {
    const pretty = loadPrettyStream();
    if (pretty) return pino(base, pretty);
  }
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: false }));
}

/** pino-pretty is a development nicety; without it the logger falls back to JSON. */
function loadPrettyStream(): DestinationStream | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
    return pretty({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

/** A logger that drops everything: the null object for code that may run without logging. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * pino's error serializer (type, message, stack, each cause nested), minus the arguments of a
 * failed command that client errors carry: ioredis puts `command: { name, args }` on a reply
 * error, and the args of AUTH or HELLO are the password. The command's name is kept.
 */
function serializeError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.errWithCause(error) as unknown as Record<string, unknown>;
  for (let e: Record<string, unknown> | undefined = serialized; e;) {
    const command = e['command'];
    if (command !== null && typeof command === 'object' && 'args' in command) {
      const name = (command as { name?: unknown }).name;
      e['command'] = { name: typeof name === 'string' ? name : undefined };
    }
    const cause: unknown = e['cause'];
    e = cause !== null && typeof cause === 'object' ? (cause as Record<string, unknown>) : undefined;
  }
  return serialized;
}
