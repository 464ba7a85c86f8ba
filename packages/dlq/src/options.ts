import { parseArgs } from 'node:util';
import { deadLetterReasons, type DeadLetterReason } from '@pushtech/event';
import { describeError } from '@pushtech/runtime';

/** Which letters a command looks at; every field set must match. */
export interface LetterFilter {
  readonly reason?: DeadLetterReason | undefined;
  /** Letters dead-lettered at or after this time (ms since the epoch). */
  readonly since?: number | undefined;
  /** `kafkastore`, `consumer` (any), or `consumer:<name>`. */
  readonly source?: string | undefined;
}

/** A letter's place in the dead-letter topic; partition absent: the topic's only partition. */
export interface LetterAddress {
  readonly partition: number | undefined;
  readonly offset: string;
}

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'list'; readonly filter: LetterFilter; readonly limit: number }
  | { readonly name: 'show'; readonly address: LetterAddress }
  | { readonly name: 'redrive'; readonly filter: LetterFilter; readonly dryRun: boolean };

/** Thrown for a bad command line: the message says what was wrong; the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const usage = `Usage: npm run dlq -- <command> [options]

Reads the dead-letter topic (KAFKA_DLQ_TOPIC, or <KAFKA_TOPIC>.dlq) of the Kafka in KAFKA_BROKERS.

Commands:
  list                      a table of dead letters: place, time, source, reason, event id, error
  show <partition:offset>   one letter: its headers, and its value (the raw entry or message) as text
  show <offset>             the same, when the topic has one partition
  redrive                   sends the chosen letters back to the topic they were meant for, once
                            each: a message as it was (same key); a raw tracker entry is made a
                            message the way kafkastore does (one that still cannot is reported and
                            skipped). Progress is kept in <dlq topic>.redriven: a second run sends
                            nothing again.

Options:
  --reason <reason>   only letters with this reason: ${deadLetterReasons.join(', ')}
  --since <time>      only letters dead-lettered at or after this time: an ISO date or time
                      (2026-12-03, 2026-12-03T09:00Z), a duration ago (90s, 30m, 2h, 7d) or ms
                      since the epoch
  --source <source>   only letters from kafkastore, any consumer (consumer) or one (consumer:<name>)
  --limit <n>         list: the latest n letters that match (default 100)
  --dry-run           redrive: say what would be sent, send and record nothing
  -h, --help          this text`;

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseCommand(argv: readonly string[], now: number = Date.now()): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        reason: { type: 'string' },
        since: { type: 'string' },
        source: { type: 'string' },
        limit: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error: unknown) {
    throw argumentError(error);
  }
  const { values, positionals } = parsed;
  if (values.help) return { name: 'help' };
  const [name, ...rest] = positionals;
  const only = (option: string, command: string, given: boolean): void => {
    if (given) throw new UsageError(`${option} applies to ${command} only`);
  };
  switch (name) {
    case undefined:
      throw new UsageError('no command given; one of: list, show <partition:offset>, redrive (--help for more)');
    case 'help':
      return { name: 'help' };
    case 'list':
      expectNone('list', rest);
      only('--dry-run', 'redrive', values['dry-run']);
      return { name: 'list', filter: filterOf(values, now), limit: limitOf(values.limit) };
    case 'show': {
      if (rest.length !== 1) {
        throw new UsageError(
          `show: expected one letter, <partition:offset> or <offset>, got ${rest.length === 0 ? 'none' : rest.map((r) => JSON.stringify(r)).join(' ')}`,
        );
      }
      for (const option of ['reason', 'since', 'source', 'limit'] as const) {
        if (values[option] !== undefined)
          throw new UsageError(`--${option} does not apply to show: it names one letter`);
      }
      only('--dry-run', 'redrive', values['dry-run']);
      return { name: 'show', address: addressOf(rest[0] as string) };
    }
    case 'redrive':
      expectNone('redrive', rest);
      only('--limit', 'list', values.limit !== undefined);
      return { name: 'redrive', filter: filterOf(values, now), dryRun: values['dry-run'] };
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}; one of: list, show, redrive`);
  }
}

function expectNone(command: string, rest: readonly string[]): void {
  if (rest.length > 0) {
    throw new UsageError(
      `${command} takes no arguments, got ${rest.map((r) => JSON.stringify(r)).join(' ')} (filters are options: --reason, --since, --source)`,
    );
  }
}

function filterOf(
  values: { reason?: string | undefined; since?: string | undefined; source?: string | undefined },
  now: number,
): LetterFilter {
  return {
    reason: values.reason === undefined ? undefined : reasonOf(values.reason),
    since: values.since === undefined ? undefined : sinceOf(values.since, now),
    source: values.source === undefined ? undefined : sourceOf(values.source),
  };
}

function reasonOf(raw: string): DeadLetterReason {
  if ((deadLetterReasons as readonly string[]).includes(raw)) return raw as DeadLetterReason;
  throw new UsageError(`--reason ${JSON.stringify(raw)} is not a reason; one of: ${deadLetterReasons.join(', ')}`);
}

/** A time: ISO date or date-time (UTC unless it says otherwise), a duration ago, or ms since the epoch. */
export function sinceOf(raw: string, now: number): number {
  const duration = DURATION.exec(raw);
  if (duration) return now - Math.round(Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
  if (/^\d{10,15}$/.test(raw)) return Number(raw);
  if (ISO.test(raw)) {
    // A date or a time without a zone is read as UTC, whatever the machine's zone.
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(raw) || !raw.includes(':') ? raw : `${raw}Z`;
    const ms = Date.parse(zoned.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(
    `--since ${JSON.stringify(raw)} is not a time; give an ISO date or time (2026-12-03, 2026-12-03T09:00Z), ` +
      'a duration ago (90s, 30m, 2h, 7d) or ms since the epoch',
  );
}

function sourceOf(raw: string): string {
  if (raw === 'kafkastore' || raw === 'consumer' || /^consumer:[A-Za-z0-9._-]{1,100}$/.test(raw)) return raw;
  throw new UsageError(
    `--source ${JSON.stringify(raw)} is not a source; one of: kafkastore, consumer, consumer:<name>`,
  );
}

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 100;
  if (/^\d{1,9}$/.test(raw) && Number(raw) >= 1) return Number(raw);
  throw new UsageError(`--limit must be a whole number of letters, at least 1, got ${JSON.stringify(raw)}`);
}

function addressOf(raw: string): LetterAddress {
  const match = /^(?:(\d{1,9}):)?(0|[1-9]\d{0,18})$/.exec(raw);
  if (!match) {
    throw new UsageError(
      `show: ${JSON.stringify(raw)} is not a letter's place; give <partition:offset> (0:42) or <offset>`,
    );
  }
  return { partition: match[1] === undefined ? undefined : Number(match[1]), offset: match[2] as string };
}

/** parseArgs's messages are long and written for programmers; say it shorter. */
function argumentError(error: unknown): UsageError {
  const message = describeError(error);
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const option = /'([^']+)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return new UsageError(`unknown option ${option}; run with --help for the options`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--[a-z-]+/.exec(option)?.[0] ?? option;
    return new UsageError(
      `${name} ${/--dry-run|--help/.test(name) ? 'takes no value' : 'needs a value'}; run with --help for the options`,
    );
  }
  return new UsageError(`${message}; run with --help for the options`);
}
