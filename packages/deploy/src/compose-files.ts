import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { describeError, parseDotEnv } from '@pushtech/runtime';

/**
 * Reads the docker-compose/ files the way `docker compose` does, as far as the checks need:
 * variable interpolation, `include`, `env_file` + `environment`. Written for the environments
 * where no Compose binary exists (CI, this machine); where one does, `docker compose config`
 * is the reference.
 */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const composeDir = path.join(repoRoot, 'docker-compose');

export class ComposeError extends Error {
  override readonly name = 'ComposeError';
}

export type Lookup = (name: string) => string | undefined;

/** A plain object of the YAML (compose files are maps at every level that matters here). */
export type YamlMap = { readonly [key: string]: unknown };

export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Compose's interpolation of one string: `$$` is a literal `$`; `$VAR` and `${VAR}` the value
 * (empty when unset); `${VAR:-x}` / `${VAR-x}` a default when unset-or-empty / unset;
 * `${VAR:?msg}` / `${VAR?msg}` an error; `${VAR:+x}` / `${VAR+x}` x when set. Defaults and
 * messages may themselves hold substitutions.
 */
export function interpolate(template: string, lookup: Lookup, where = 'value'): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) return out + template.slice(i);
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(template, dollar + 2);
      if (end === -1) throw new ComposeError(`${where}: unterminated "\${" in ${JSON.stringify(template)}`);
      out += substitute(template.slice(dollar + 2, end), lookup, where);
      i = end + 1;
      continue;
    }
    const name = NAME.exec(template.slice(dollar + 1))?.[0];
    if (name === undefined) {
      throw new ComposeError(`${where}: a lone "$" in ${JSON.stringify(template)}; write "$$" for a literal dollar`);
    }
    out += lookup(name) ?? '';
    i = dollar + 1 + name.length;
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '$' && text[i + 1] === '$') i += 1;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth += 1;
      i += 1;
    } else if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function substitute(expression: string, lookup: Lookup, where: string): string {
  const name = NAME.exec(expression)?.[0];
  if (name === undefined) throw new ComposeError(`${where}: invalid substitution "\${${expression}}"`);
  const rest = expression.slice(name.length);
  const value = lookup(name);
  if (rest === '') return value ?? '';
  const operator = /^(:?[-?+])/.exec(rest)?.[1];
  if (operator === undefined) throw new ComposeError(`${where}: invalid substitution "\${${expression}}"`);
  const argument = rest.slice(operator.length);
  const present = operator.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (operator.replace(':', '')) {
    case '-':
      return present ? (value as string) : interpolate(argument, lookup, where);
    case '+':
      return present ? interpolate(argument, lookup, where) : '';
    default:
      if (present) return value as string;
      throw new ComposeError(`${where}: ${name}: ${interpolate(argument, lookup, where) || 'required'}`);
  }
}

/** Interpolates every string value (not key) of a parsed YAML document, as Compose does. */
export function interpolateTree(value: unknown, lookup: Lookup, where: string): unknown {
  if (typeof value === 'string') return interpolate(value, lookup, where);
  if (Array.isArray(value)) return value.map((item, i) => interpolateTree(item, lookup, `${where}[${i}]`));
  if (isMap(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateTree(item, lookup, `${where}.${key}`)]),
    );
  }
  return value;
}

/** One service of a loaded project, with the file it came from (relative paths start there). */
export interface ComposeService {
  readonly name: string;
  readonly file: string;
  readonly definition: YamlMap;
}

export interface ComposeProject {
  readonly file: string;
  readonly services: ReadonlyMap<string, ComposeService>;
  readonly volumes: ReadonlySet<string>;
}

function readYaml(file: string): YamlMap {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error: unknown) {
    throw new ComposeError(`${path.relative(repoRoot, file)}: ${describeError(error)}`);
  }
  if (!isMap(doc)) throw new ComposeError(`${path.relative(repoRoot, file)}: expected a map at the top level`);
  return doc;
}

/**
 * Loads a compose file and, recursively, the files it includes. As in Compose, each included
 * file keeps its own directory for relative paths, and a service defined twice is an error
 * unless both definitions are identical.
 */
export function loadProject(file: string, lookup: Lookup, seen: readonly string[] = []): ComposeProject {
  const absolute = path.resolve(file);
  const label = path.relative(repoRoot, absolute);
  if (seen.includes(absolute)) throw new ComposeError(`include cycle: ${[...seen, absolute].join(' -> ')}`);
  const doc = interpolateTree(readYaml(absolute), lookup, label) as YamlMap;
  const services = new Map<string, ComposeService>();
  const volumes = new Set<string>();

  const add = (service: ComposeService): void => {
    const existing = services.get(service.name);
    if (existing && !isDeepStrictEqual(existing.definition, service.definition)) {
      throw new ComposeError(
        `service ${service.name} is defined differently in ${path.relative(repoRoot, existing.file)} and ${path.relative(repoRoot, service.file)}`,
      );
    }
    services.set(service.name, service);
  };

  for (const entry of asList(doc['include'], `${label}: include`)) {
    const includePath = typeof entry === 'string' ? entry : isMap(entry) ? entry['path'] : undefined;
    if (typeof includePath !== 'string') {
      throw new ComposeError(`${label}: include entries must be a path or {path: ...}, got ${JSON.stringify(entry)}`);
    }
    const included = path.resolve(path.dirname(absolute), includePath);
    if (!existsSync(included)) throw new ComposeError(`${label}: included file ${includePath} does not exist`);
    const child = loadProject(included, lookup, [...seen, absolute]);
    for (const service of child.services.values()) add(service);
    for (const volume of child.volumes) volumes.add(volume);
  }
  const own = doc['services'] ?? {};
  if (!isMap(own)) throw new ComposeError(`${label}: services must be a map`);
  for (const [name, definition] of Object.entries(own)) {
    if (!isMap(definition)) throw new ComposeError(`${label}: service ${name} must be a map`);
    add({ name, file: absolute, definition });
  }
  const ownVolumes = doc['volumes'] ?? {};
  if (!isMap(ownVolumes)) throw new ComposeError(`${label}: volumes must be a map`);
  for (const volume of Object.keys(ownVolumes)) volumes.add(volume);
  return { file: absolute, services, volumes };
}

export function asList(value: unknown, where: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ComposeError(`${where}: expected a list`);
  return value;
}

/** Every compose file in docker-compose/, by name. */
export function composeFiles(): string[] {
  return readdirSync(composeDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

function scalar(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ComposeError(`${where}: expected a string, number or boolean, got ${JSON.stringify(value)}`);
}

/** The `environment` of a service as Compose hands it over (map or `KEY=value` list). */
export function declaredEnvironment(service: ComposeService): Record<string, string> {
  const where = `service ${service.name}: environment`;
  const environment = service.definition['environment'];
  const result: Record<string, string> = {};
  if (environment === undefined || environment === null) return result;
  if (Array.isArray(environment)) {
    for (const item of environment) {
      const text = scalar(item, where);
      const eq = text.indexOf('=');
      if (eq === -1)
        throw new ComposeError(`${where}: ${text} has no value (passing a host variable through is not used here)`);
      result[text.slice(0, eq)] = text.slice(eq + 1);
    }
    return result;
  }
  if (!isMap(environment)) throw new ComposeError(`${where}: expected a map or a list`);
  for (const [key, value] of Object.entries(environment)) {
    if (value === null) throw new ComposeError(`${where}: ${key} has no value`);
    result[key] = scalar(value, `${where}.${key}`);
  }
  return result;
}

/** The `env_file` entries of a service, as absolute paths. */
export function envFiles(service: ComposeService): string[] {
  const value = service.definition['env_file'];
  const entries = value === undefined ? [] : Array.isArray(value) ? (value as unknown[]) : [value];
  return entries.map((entry) => {
    const file = typeof entry === 'string' ? entry : isMap(entry) ? entry['path'] : undefined;
    if (typeof file !== 'string') throw new ComposeError(`service ${service.name}: env_file entries must be paths`);
    return path.resolve(path.dirname(service.file), file);
  });
}

/**
 * Reads an env_file. Compose interpolates `$` inside env files, the services' own .env reader
 * does not: a value with a `$` would mean different things to the two, so it is refused.
 */
export function readEnvFile(file: string): Record<string, string> {
  const label = path.relative(repoRoot, file);
  if (!existsSync(file)) throw new ComposeError(`env_file ${label} does not exist`);
  const values = parseDotEnv(readFileSync(file, 'utf8'), label);
  for (const [key, value] of Object.entries(values)) {
    if (value.includes('$')) {
      throw new ComposeError(
        `${label}: ${key} contains "$", which Compose would interpolate; avoid it in shared defaults`,
      );
    }
  }
  return values;
}

/**
 * The environment a container of this service starts with: the image's ENV, overlaid by the
 * env_file(s), overlaid by `environment` (Compose's order of precedence).
 */
export function containerEnvironment(
  service: ComposeService,
  imageEnv: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const merged: Record<string, string> = { ...imageEnv };
  for (const file of envFiles(service)) Object.assign(merged, readEnvFile(file));
  return Object.assign(merged, declaredEnvironment(service));
}

export interface PublishedPort {
  readonly hostIp: string | undefined;
  readonly published: number;
  readonly target: number;
}

/** `ports` in short (`[ip:]host:container`) or long syntax; ranges are not used here. */
export function publishedPorts(service: ComposeService): PublishedPort[] {
  const where = `service ${service.name}: ports`;
  return asList(service.definition['ports'], where).map((entry) => {
    if (isMap(entry)) {
      const target = Number(entry['target']);
      const published = Number(entry['published'] ?? target);
      const hostIp = typeof entry['host_ip'] === 'string' ? entry['host_ip'] : undefined;
      return { hostIp, published, target };
    }
    const text = scalar(entry, where).replace(/\/(tcp|udp)$/, '');
    const parts = text.split(':');
    const target = Number(parts.at(-1));
    const published = parts.length >= 2 ? Number(parts.at(-2)) : Number.NaN;
    const hostIp = parts.length === 3 ? parts[0] : undefined;
    if (!Number.isInteger(target) || !Number.isInteger(published)) {
      throw new ComposeError(`${where}: ${text} must be [ip:]host:container with fixed port numbers`);
    }
    return { hostIp, published, target };
  });
}

/** A Compose duration (`30s`, `1m30s`, `500ms`) in milliseconds. */
export function durationMs(value: unknown, where: string): number {
  const text = scalar(value, where);
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new ComposeError(`${where}: ${JSON.stringify(text)} is not a duration such as 30s or 1m30s`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * (units[unit as string] ?? 0), 0);
}
