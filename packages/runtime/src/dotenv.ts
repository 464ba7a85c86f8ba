import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the `.env` format used for local defaults: `KEY=value` lines, `#` comments, optional
 * `export ` prefix, values optionally in single or double quotes (double quotes understand
 * `\n`, `\t`, `\"`, `\\`). No variable interpolation: defaults stay literal and predictable.
 */
export function parseDotEnv(text: string, source = '.env'): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      // The line itself is not quoted: it may hold a secret.
      throw new SyntaxError(`${source}:${index + 1}: expected KEY=value (a name, "=", then the value)`);
    }
    const key = match[1] as string;
    result[key] = parseValue(match[2] as string, `${source}:${index + 1}`);
  });
  return result;
}

function parseValue(raw: string, where: string): string {
  if (raw.startsWith('"')) {
    const end = raw.lastIndexOf('"');
    if (end === 0) throw new SyntaxError(`${where}: unterminated double quote`);
    return raw
      .slice(1, end)
      .replace(/\\([nt"\\])/g, (_, c: string) => ({ n: '\n', t: '\t', '"': '"', '\\': '\\' })[c] ?? c);
  }
  if (raw.startsWith("'")) {
    const end = raw.lastIndexOf("'");
    if (end === 0) throw new SyntaxError(`${where}: unterminated single quote`);
    return raw.slice(1, end);
  }
  // An unquoted value ends at an inline comment.
  const comment = raw.search(/\s#/);
  return (comment === -1 ? raw : raw.slice(0, comment)).trim();
}

/** The nearest `.env` in `dir` or one of its parents, or undefined. */
export function findDotEnv(dir: string): string | undefined {
  let current = path.resolve(dir);
  for (;;) {
    const candidate = path.join(current, '.env');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * Where `loadEnv` took each value from, so a relative path is read against the right directory:
 * a value from the `.env` file against the file's directory, any other against `cwd`.
 */
export interface EnvOrigin {
  readonly cwd: string;
  /** The `.env` file's directory; undefined when there was none. */
  readonly dotEnvDir: string | undefined;
  /** The variables whose value came from the `.env` file (the process environment did not set them). */
  readonly fromDotEnv: ReadonlySet<string>;
}
const origins = new WeakMap<Env, EnvOrigin>();

/** Where the values of `env` came from, if `loadEnv` made it; undefined for any other object. */
export function envOrigin(env: Env): EnvOrigin | undefined {
  return origins.get(env);
}

/**
 * The environment a service is configured from: the nearest `.env` (local defaults) overlaid
 * by the process environment, so a variable set by the operator always wins. Called once, by a
 * service's entrypoint; everything else receives the result as an argument.
 */
export function loadEnv(options: { processEnv: Env; cwd: string; file?: string | undefined }): Env {
  const file = options.file ?? findDotEnv(options.cwd);
  const defaults = file ? parseDotEnv(readFileSync(file, 'utf8'), file) : {};
  const merged: Record<string, string | undefined> = { ...defaults };
  const fromDotEnv = new Set(Object.keys(defaults));
  for (const [key, value] of Object.entries(options.processEnv)) {
    if (value === undefined) continue;
    merged[key] = value;
    fromDotEnv.delete(key);
  }
  const env = Object.freeze(merged);
  origins.set(env, {
    cwd: path.resolve(options.cwd),
    dotEnvDir: file ? path.dirname(path.resolve(options.cwd, file)) : undefined,
    fromDotEnv,
  });
  return env;
}
