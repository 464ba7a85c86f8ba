import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

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

/** The one pino logger of a service; components get children with their own bindings. */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
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
