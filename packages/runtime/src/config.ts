import { z } from 'zod';
import path from 'node:path';
import { type Env, envOrigin } from './dotenv.js';
import { PushtechError } from './errors.js';

/**
 * Typed configuration from environment variables. A service declares a schema made of the
 * builders in `setting`, and parses it once at start-up with `parseConfig(schema, env)`. The
 * result is typed, deep-frozen, and every bad value is reported with the variable's name, the
 * value it had and what is accepted; a secret's value is never shown, nor a URL's user and
 * password.
 */
type Setting<T> = z.ZodType<T, unknown>;

/** Settings whose value a config error must not show (`secret: true`). */
const secretSettings = new WeakSet<Setting<unknown>>();
/** URL settings: a config error shows their value without its userinfo. */
const urlSettings = new WeakSet<Setting<unknown>>();
/**
 * Path settings (`path: true`): `parseConfig` makes a relative value absolute, against the
 * directory of the `.env` file it was written in, or else against the working directory.
 */
const pathSettings = new WeakSet<Setting<unknown>>();
const PATH_RULE = '; relative: to the .env file it is in, else to the working directory';

/** What a setting accepts, as `describeSetting` tells it (the configuration reference is made from it). */
export interface SettingDescription {
  readonly kind: 'string' | 'integer' | 'port' | 'boolean' | 'oneOf' | 'url' | 'hostPorts' | 'list';
  /** What a valid value looks like, in the words a config error uses. */
  readonly accepts: string;
  /** The value when the variable is unset or empty; `undefined`: the variable is required. */
  readonly default: string | number | boolean | readonly string[] | undefined;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** A config error never shows its value (`secret: true`). */
  readonly secret: boolean;
}
const descriptions = new WeakMap<Setting<unknown>, Omit<SettingDescription, 'secret'>>();

function described<T>(description: Omit<SettingDescription, 'secret'>, schema: Setting<T>): Setting<T> {
  descriptions.set(schema, description);
  return schema;
}

/** How `schema`, made by a `setting` builder, is parsed; undefined for any other schema. */
export function describeSetting(schema: Setting<unknown>): SettingDescription | undefined {
  const description = descriptions.get(schema);
  return description && { ...description, secret: secretSettings.has(schema) };
}

function register<T>(set: WeakSet<Setting<unknown>>, schema: Setting<T>, member: boolean): Setting<T> {
  if (member) set.add(schema);
  return schema;
}

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
  /** `secret: true` for a token, password or key: a config error names it but never shows its value. */
  string: (
    options: { default?: string; pattern?: RegExp; accepts?: string; secret?: boolean; path?: boolean } = {},
  ): Setting<string> => {
    const accepts = options.accepts ?? (options.pattern ? `a value matching ${options.pattern}` : 'a non-empty string');
    return register(
      secretSettings,
      register(
        pathSettings,
        described(
          { kind: 'string', accepts: options.path ? accepts + PATH_RULE : accepts, default: options.default },
          fromString(
            accepts,
            (raw) => (raw !== '' && (!options.pattern || options.pattern.test(raw)) ? raw : undefined),
            options.default,
          ),
        ),
        options.path === true,
      ),
      options.secret === true,
    );
  },

  integer: (options: { min?: number; max?: number; default?: number } = {}): Setting<number> => {
    const min = options.min ?? Number.MIN_SAFE_INTEGER;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    const accepts = `an integer from ${min} to ${max}`;
    return described(
      { kind: 'integer', accepts, default: options.default, min, max },
      fromString(accepts, (raw) => parseInteger(raw, min, max), options.default),
    );
  },

  port: (options: { default?: number; allowZero?: boolean } = {}): Setting<number> => {
    const min = options.allowZero ? 0 : 1;
    const accepts = `a TCP port number from ${min} to 65535`;
    return described(
      { kind: 'port', accepts, default: options.default, min, max: 65535 },
      fromString(accepts, (raw) => parseInteger(raw, min, 65535), options.default),
    );
  },

  boolean: (options: { default?: boolean } = {}): Setting<boolean> => {
    const accepts = 'true or false (also 1/0, yes/no, on/off)';
    return described(
      { kind: 'boolean', accepts, default: options.default },
      fromString(
        accepts,
        (raw) => (TRUE.has(raw.toLowerCase()) ? true : FALSE.has(raw.toLowerCase()) ? false : undefined),
        options.default,
      ),
    );
  },

  oneOf: <const T extends string>(values: readonly T[], options: { default?: NoInfer<T> } = {}): Setting<T> => {
    const accepts = `one of ${values.join(', ')}`;
    return described(
      { kind: 'oneOf', accepts, default: options.default, values },
      fromString(accepts, (raw) => values.find((v) => v === raw), options.default),
    );
  },

  url: (options: { protocols: readonly string[]; default?: string }): Setting<string> => {
    const accepts = `a URL starting with ${options.protocols.map((p) => `${p}//`).join(' or ')}`;
    return register(
      urlSettings,
      described(
        { kind: 'url', accepts, default: options.default },
        fromString(
          accepts,
          (raw) => {
            try {
              return options.protocols.includes(new URL(raw).protocol) ? raw : undefined;
            } catch {
              return undefined;
            }
          },
          options.default,
        ),
      ),
      true,
    );
  },

  /** A comma-separated list of `host:port` pairs, such as Kafka bootstrap brokers. */
  hostPorts: (options: { default?: readonly string[] } = {}): Setting<readonly string[]> => {
    const accepts = 'a comma-separated list of host:port (e.g. 127.0.0.1:9092,kafka-1:9092)';
    return described(
      { kind: 'hostPorts', accepts, default: options.default },
      fromString(
        accepts,
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
    );
  },

  /** A comma-separated list of strings; empty means an empty list. `secret: true` as for `string`. */
  list: (
    options: { default?: readonly string[]; item?: RegExp; accepts?: string; secret?: boolean; path?: boolean } = {},
  ): Setting<readonly string[]> =>
    register(
      secretSettings,
      register(
        pathSettings,
        described(
          {
            kind: 'list',
            accepts: (options.accepts ?? 'a comma-separated list') + (options.path ? PATH_RULE : ''),
            default: options.default ?? [],
          },
          z
            .string()
            .optional()
            .transform((raw, ctx): readonly string[] => {
              if (raw === undefined) return options.default ?? [];
              const items = raw
                .split(',')
                .map((s) => s.trim())
                .filter((s) => s !== '');
              const bad = options.item ? items.findIndex((i) => !options.item?.test(i)) : -1;
              if (bad !== -1) {
                const which = options.secret ? `item ${bad + 1}` : JSON.stringify(items[bad]);
                ctx.issues.push({
                  code: 'custom',
                  message: `expected ${options.accepts ?? 'a comma-separated list'}; ${which} is not valid`,
                  input: raw,
                });
                return z.NEVER;
              }
              return items;
            }),
        ),
        options.path === true,
      ),
      options.secret === true,
    ),
};

/** How a config error shows a variable's value: never a secret's, never a URL's userinfo. */
function shownValue(schema: Setting<unknown> | undefined, value: string | undefined): string {
  if (value === undefined || value === '') return '(unset)';
  if (schema && secretSettings.has(schema)) return '(secret, not shown)';
  if (schema && urlSettings.has(schema)) return JSON.stringify(hideUserinfo(value));
  return JSON.stringify(value);
}

/** Everything between the scheme and the last `@` hidden, also when the value is no valid URL. */
function hideUserinfo(value: string): string {
  const at = value.lastIndexOf('@');
  if (at === -1) return value;
  const schemeEnd = value.indexOf('://');
  const start = schemeEnd !== -1 && schemeEnd < at ? schemeEnd + 3 : 0;
  return `${value.slice(0, start)}***${value.slice(at)}`;
}

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

/**
 * Parses and validates `env` against `schema` once; returns a deep-frozen typed object. A path
 * setting's relative value is made absolute: against the `.env` file's directory when `loadEnv`
 * took it from there, otherwise against `options.baseDir` (default: the working directory).
 */
export function parseConfig<S extends ConfigSchema>(
  service: string,
  schema: S,
  env: Env,
  options: { baseDir?: string } = {},
): ConfigOf<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema)) input[key] = env[key];
  const result = z.object(schema).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '?');
      return `${key}=${shownValue(schema[key], input[key])}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  const data: Record<string, unknown> = result.data;
  const origin = envOrigin(env);
  for (const [key, schemaOfKey] of Object.entries(schema)) {
    if (!pathSettings.has(schemaOfKey)) continue;
    const base =
      origin?.dotEnvDir !== undefined && origin.fromDotEnv.has(key)
        ? origin.dotEnvDir
        : (origin?.cwd ?? options.baseDir ?? process.cwd());
    const resolve = (value: string): string => (value === '' ? value : path.resolve(base, value));
    const value = data[key];
    data[key] = typeof value === 'string' ? resolve(value) : (value as readonly string[]).map(resolve);
  }
  return deepFreeze(data) as ConfigOf<S>;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
