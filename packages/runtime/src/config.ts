import { z } from 'zod';
import type { Env } from './dotenv.js';
import { PushtechError } from './errors.js';

/**
 * Typed configuration from environment variables. A service declares a schema made of the
 * builders in `setting`, and parses it once at start-up with `parseConfig(schema, env)`. The
 * result is typed, deep-frozen, and every bad value is reported with the variable's name, the
 * value it had and what is accepted.
 */
type Setting<T> = z.ZodType<T, unknown>;

function fromString<T>(accepts: string, parse: (raw: string) => T | undefined, fallback?: T): Setting<T> {
  const required = fallback === undefined;
  const schema = z
    .string({ error: `required: expected ${accepts}` })
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) {
        if (!required) return fallback;
        ctx.issues.push({ code: 'custom', message: `required: expected ${accepts}`, input: raw });
        return z.NEVER;
      }
      const value = parse(raw.trim());
      if (value === undefined) {
        ctx.issues.push({ code: 'custom', message: `expected ${accepts}`, input: raw });
        return z.NEVER;
      }
      return value;
    });
  // An empty variable counts as unset, so `FOO=` in .env falls back to the default.
  return z.preprocess((v) => (v === '' ? undefined : v), schema);
}

function parseInteger(raw: string, min: number, max: number): number | undefined {
  if (!/^-?\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export const setting = {
  string: (options: { default?: string; pattern?: RegExp; accepts?: string } = {}): Setting<string> =>
    fromString(
      options.accepts ?? (options.pattern ? `a value matching ${options.pattern}` : 'a non-empty string'),
      (raw) => (raw !== '' && (!options.pattern || options.pattern.test(raw)) ? raw : undefined),
      options.default,
    ),

  integer: (options: { min?: number; max?: number; default?: number } = {}): Setting<number> => {
    const min = options.min ?? Number.MIN_SAFE_INTEGER;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    return fromString(`an integer from ${min} to ${max}`, (raw) => parseInteger(raw, min, max), options.default);
  },

  port: (options: { default?: number; allowZero?: boolean } = {}): Setting<number> => {
    const min = options.allowZero ? 0 : 1;
    return fromString(
      `a TCP port number from ${min} to 65535`,
      (raw) => parseInteger(raw, min, 65535),
      options.default,
    );
  },

  boolean: (options: { default?: boolean } = {}): Setting<boolean> =>
    fromString(
      'true or false (also 1/0, yes/no, on/off)',
      (raw) => (TRUE.has(raw.toLowerCase()) ? true : FALSE.has(raw.toLowerCase()) ? false : undefined),
      options.default,
    ),

  oneOf: <const T extends string>(values: readonly T[], options: { default?: NoInfer<T> } = {}): Setting<T> =>
    fromString(`one of ${values.join(', ')}`, (raw) => values.find((v) => v === raw), options.default),

  url: (options: { protocols: readonly string[]; default?: string }): Setting<string> =>
    fromString(
      `a URL starting with ${options.protocols.map((p) => `${p}//`).join(' or ')}`,
      (raw) => {
        try {
          return options.protocols.includes(new URL(raw).protocol) ? raw : undefined;
        } catch {
          return undefined;
        }
      },
      options.default,
    ),

  /** A comma-separated list of `host:port` pairs, such as Kafka bootstrap brokers. */
  hostPorts: (options: { default?: readonly string[] } = {}): Setting<readonly string[]> =>
    fromString(
      'a comma-separated list of host:port (e.g. 127.0.0.1:9092,kafka-1:9092)',
      (raw) => {
        const items = raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        const valid = items.every((item) => {
          const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
          return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
        });
        return items.length > 0 && valid ? items : undefined;
      },
      options.default,
    ),

  /** A comma-separated list of strings; empty means an empty list. */
  list: (options: { default?: readonly string[]; item?: RegExp; accepts?: string } = {}): Setting<readonly string[]> =>
    z
      .string()
      .optional()
      .transform((raw, ctx): readonly string[] => {
        if (raw === undefined) return options.default ?? [];
        const items = raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        const bad = options.item ? items.find((i) => !options.item?.test(i)) : undefined;
        if (bad !== undefined) {
          ctx.issues.push({
            code: 'custom',
            message: `expected ${options.accepts ?? 'a comma-separated list'}; ${JSON.stringify(bad)} is not valid`,
            input: raw,
          });
          return z.NEVER;
        }
        return items;
      }),
};

export type ConfigSchema = Record<string, Setting<unknown>>;
export type ConfigOf<S extends ConfigSchema> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends PushtechError {
  readonly problems: readonly string[];

  constructor(service: string, problems: readonly string[]) {
    super(
      'PT_ERR_CONFIG',
      `${service}: invalid configuration (fix the environment variable or .env):\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses and validates `env` against `schema` once; returns a deep-frozen typed object. */
export function parseConfig<S extends ConfigSchema>(service: string, schema: S, env: Env): ConfigOf<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema)) input[key] = env[key];
  const result = z.object(schema).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '?');
      const value = input[key];
      const shown = value === undefined || value === '' ? '(unset)' : JSON.stringify(value);
      return `${key}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  return deepFreeze(result.data) as ConfigOf<S>;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
