import { describeError } from '@pushtech/runtime';
/**
 * Telling an outage from a bad event by the error alone: a Redis that refuses writes, a lost
 * connection, a full or broken disk, or anything a handler marks as transient says nothing
 * about the event being handled, so the event must not be dead-lettered for it.
 */

const TRANSIENT = Symbol.for('pushtech.consumer-kit.transient');

/**
 * An error a handler throws to say "not this event's fault, try again later" (a database
 * down, an API answering 503): the kit pauses the consumer and retries the batch instead of
 * dead-lettering. Make one with `transient(error)`.
 */
export class TransientError extends Error {
  readonly [TRANSIENT] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Marks an error as an outage of something the handler needs (see TransientError). */
export function transient(cause: unknown, message?: string): TransientError {
  return new TransientError(message ?? describeError(cause), { cause });
}

/** Why an error is an infrastructure error: a metric label, from a fixed vocabulary. */
export type InfrastructureReason =
  | 'redis_oom'
  | 'redis_readonly'
  | 'redis_loading'
  | 'redis_masterdown'
  | 'redis_busy'
  | 'redis_clusterdown'
  | 'redis_tryagain'
  | 'redis_misconf'
  | 'redis_noreplicas'
  | 'connection'
  | 'disk_full'
  | 'disk_readonly'
  | 'disk_io'
  | 'file_handles'
  | 'transient';

/** Redis error replies (the first word of the reply) that mean the server cannot serve now. */
const REDIS_REPLIES: Readonly<Record<string, InfrastructureReason>> = {
  OOM: 'redis_oom',
  READONLY: 'redis_readonly',
  LOADING: 'redis_loading',
  MASTERDOWN: 'redis_masterdown',
  BUSY: 'redis_busy',
  CLUSTERDOWN: 'redis_clusterdown',
  TRYAGAIN: 'redis_tryagain',
  // Redis could not persist (its own disk full): it refuses writes until it can.
  MISCONF: 'redis_misconf',
  NOREPLICAS: 'redis_noreplicas',
};

/** `code` of a Node.js system error. */
const SYSTEM_CODES: Readonly<Record<string, InfrastructureReason>> = {
  ECONNREFUSED: 'connection',
  ECONNRESET: 'connection',
  ECONNABORTED: 'connection',
  ETIMEDOUT: 'connection',
  EPIPE: 'connection',
  ENOTFOUND: 'connection',
  EAI_AGAIN: 'connection',
  EHOSTUNREACH: 'connection',
  ENETUNREACH: 'connection',
  ENOSPC: 'disk_full',
  EDQUOT: 'disk_full',
  EROFS: 'disk_readonly',
  EIO: 'disk_io',
  EMFILE: 'file_handles',
  ENFILE: 'file_handles',
};

/** ioredis's own errors when it has no usable connection (no `code` on them). */
const REDIS_CLIENT_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Stream isn't writeable and enableOfflineQueue options is false/,
  /^Reached the max retries per request limit/,
];

export interface InfrastructureError {
  readonly reason: InfrastructureReason;
  /** The error in the chain that told (the thrown one, or one of its causes). */
  readonly error: unknown;
}

function own(error: unknown): InfrastructureReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ((error as { [TRANSIENT]?: unknown })[TRANSIENT] === true) return 'transient';
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string' && code in SYSTEM_CODES) return SYSTEM_CODES[code];
  if (name === 'MaxRetriesPerRequestError') return 'connection';
  if (typeof message !== 'string') return undefined;
  if (name === 'ReplyError') {
    // `OOM command not allowed ...`, also from a script (Redis 7 keeps the code); older Redis
    // wraps a script's failed call as `ERR Error running script ...: -OOM ...`.
    const word = /^-?([A-Z]+)\b/.exec(message)?.[1];
    const inner = word === 'ERR' ? /: -([A-Z]+) /.exec(message)?.[1] : undefined;
    const reply = inner ?? word;
    if (reply !== undefined && reply in REDIS_REPLIES) return REDIS_REPLIES[reply];
    return undefined;
  }
  if (REDIS_CLIENT_MESSAGES.some((m) => m.test(message))) return 'connection';
  return undefined;
}

/** The error, its `cause` chain and the errors of an AggregateError, depth first, each once. */
function* chain(error: unknown, seen = new Set<unknown>()): Generator<unknown> {
  if (seen.has(error) || seen.size > 100) return;
  seen.add(error);
  yield error;
  if (typeof error !== 'object' || error === null) return;
  if (error instanceof AggregateError) for (const inner of error.errors) yield* chain(inner, seen);
  if ('cause' in error && error.cause !== undefined) yield* chain(error.cause, seen);
}

/**
 * The infrastructure error behind `error`, looking through its causes (and an AggregateError's
 * errors); undefined when nothing in it points at the infrastructure (then it may be the event).
 */
export function classifyInfrastructureError(error: unknown): InfrastructureError | undefined {
  for (const e of chain(error)) {
    const reason = own(e);
    if (reason !== undefined) return { reason, error: e };
  }
  return undefined;
}

/**
 * What kind of failure an error is, for "did every event fail the same way": the innermost
 * cause's name, code and message, with numbers blanked (a duration or a count in a message
 * does not make it another error; an event id does).
 */
export function failureSignature(error: unknown): string {
  let innermost: unknown = error;
  for (const e of chain(error)) innermost = e;
  if (!(innermost instanceof Error)) return `value: ${String(innermost).replace(/\d+/g, '#')}`;
  const code = (innermost as { code?: unknown }).code;
  return `${innermost.name} ${typeof code === 'string' || typeof code === 'number' ? String(code) : ''}: ${innermost.message.replace(/\d+/g, '#')}`;
}
