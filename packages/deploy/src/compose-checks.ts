import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '@pushtech/runtime';
import {
  finalStage,
  healthcheckOf,
  imageEnvironment,
  flattened,
  workdirOf,
  type Dockerfile,
} from './compose-dockerfile.js';
import {
  asList,
  containerEnvironment,
  declaredEnvironment,
  durationMs,
  envFiles,
  isMap,
  publishedPorts,
  repoRoot,
  type ComposeProject,
  type ComposeService,
} from './compose-files.js';
import { DOCKERFILE, NODE_READS, imageHolds, readDockerfile, serviceDockerfile } from './compose-image-checks.js';
import { jobSpecs, serviceSpecs, type ServiceSpec } from './compose-services.js';
import { describeError } from '@pushtech/runtime';

/**
 * The rules of the docker-compose/ files. `checkProject` returns every problem it finds (empty
 * when all is well), each starting with the service it is about, so a test shows everything
 * that is wrong and the same rules can be run against deliberately broken copies.
 */

/** The workspace a service builds (`services/<name>`): the SERVICE build argument of the one Dockerfile. */
export function builtServiceDir(service: ComposeService): string | undefined {
  const build = service.definition['build'];
  if (!isMap(build) || build['dockerfile'] !== DOCKERFILE) return undefined;
  const args = build['args'];
  const value = Array.isArray(args)
    ? args
        .map(String)
        .find((a) => a.startsWith('SERVICE='))
        ?.slice('SERVICE='.length)
    : isMap(args)
      ? args['SERVICE']
      : undefined;
  return typeof value === 'string' && /^[a-z][a-z0-9-]*$/.test(value) ? `services/${value}` : undefined;
}

function buildDockerfilePath(service: ComposeService): string | undefined {
  const build = service.definition['build'];
  if (build === undefined) return undefined;
  const context =
    typeof build === 'string' ? build : isMap(build) && typeof build['context'] === 'string' ? build['context'] : '.';
  const dockerfile = isMap(build) && typeof build['dockerfile'] === 'string' ? build['dockerfile'] : 'Dockerfile';
  return path.resolve(path.dirname(service.file), context, dockerfile);
}

function imageOf(service: ComposeService, root: string): Dockerfile | undefined {
  const dir = builtServiceDir(service);
  return dir === undefined ? undefined : serviceDockerfile(readDockerfile(root), path.posix.basename(dir));
}

/** A one-shot job is expected to exit, so it is never restarted. */
export function isOneShot(service: ComposeService): boolean {
  return service.definition['restart'] === 'no';
}

/** From the compose file, or else from the HEALTHCHECK of the image it builds. */
function hasHealthcheck(service: ComposeService, root: string): boolean {
  const own = service.definition['healthcheck'];
  if (isMap(own)) return own['disable'] !== true && own['test'] !== undefined;
  const image = imageOf(service, root);
  return image !== undefined && healthcheckOf(flattened(image, finalStage(image))) !== undefined;
}

function dependsOn(service: ComposeService): Array<{ name: string; condition: string }> {
  const value = service.definition['depends_on'];
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map((name) => ({ name: String(name), condition: 'service_started' }));
  if (!isMap(value)) return [{ name: JSON.stringify(value), condition: 'not a list or map' }];
  return Object.entries(value).map(([name, options]) => ({
    name,
    condition: isMap(options) && typeof options['condition'] === 'string' ? options['condition'] : 'service_started',
  }));
}

/** The spec of a service that runs our code or reads our .env, if any. */
export function specOf(service: ComposeService): ServiceSpec | undefined {
  const dir = builtServiceDir(service);
  return dir !== undefined ? serviceSpecs[path.posix.basename(dir)] : jobSpecs[service.name];
}

/** The environment a container of the service starts with (image ENV, env_file, environment) and its working directory. */
export function runtimeOf(service: ComposeService, root = repoRoot): { env: Record<string, string>; cwd: string } {
  const image = imageOf(service, root);
  return {
    env: containerEnvironment(service, image ? imageEnvironment(image) : {}),
    cwd: image ? workdirOf(flattened(image, finalStage(image))) : '/',
  };
}

function mountTargets(service: ComposeService): string[] {
  const volumes = asList(service.definition['volumes'], `service ${service.name}: volumes`).map((v) =>
    isMap(v) ? String(v['target']) : (String(v).split(':')[1] ?? ''),
  );
  const tmpfs = service.definition['tmpfs'];
  const tmpfsTargets = (Array.isArray(tmpfs) ? tmpfs : [tmpfs]).filter((t): t is string => typeof t === 'string');
  return [...volumes, ...tmpfsTargets].map((t) => t.split(':')[0] ?? t);
}

function portOfAddress(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Every rule for a loaded project. `defaults` is the repository's .env (what tools on the host use). */
export function checkProject(project: ComposeProject, defaults: Env, root = repoRoot): string[] {
  const problems: string[] = [];
  for (const service of project.services.values()) {
    const found = [...shapeRules(service, root), ...dependencyRules(service, project, root)];
    const spec = specOf(service);
    if (envFiles(service).length > 0 && !spec)
      found.push('reads the repository .env but no ServiceSpec knows its variables');
    if (spec) found.push(...environmentRules(service, spec, project, root));
    problems.push(...found.map((problem) => `${service.name}: ${problem}`));
  }
  problems.push(...infrastructurePortRules(project, defaults));
  return problems;
}

/** Something to run, pinned; long-running services are probed and restarted. */
function shapeRules(service: ComposeService, root: string): string[] {
  const problems: string[] = [];
  const { image, build, restart } = service.definition;
  if (typeof image !== 'string' && build === undefined) problems.push('needs an image or a build');
  if (typeof image === 'string' && build === undefined && !/:[\w.-]+$/.test(image)) {
    problems.push(`image ${image} must have a pinned tag`);
  }
  const dockerfile = buildDockerfilePath(service);
  if (dockerfile !== undefined && !existsSync(dockerfile)) {
    problems.push(`build: ${path.relative(root, dockerfile)} does not exist`);
  }
  if (!isOneShot(service)) {
    if (!hasHealthcheck(service, root)) {
      problems.push('a long-running service needs a healthcheck (in the compose file or the image)');
    }
    if (restart === undefined) problems.push('a long-running service needs a restart policy');
  }
  return problems;
}

/** Start only once what it needs is healthy (or, for a job, has finished). */
function dependencyRules(service: ComposeService, project: ComposeProject, root: string): string[] {
  const problems: string[] = [];
  for (const { name, condition } of dependsOn(service)) {
    const target = project.services.get(name);
    if (!target) problems.push(`depends_on ${name}: no such service`);
    else if (condition === 'service_healthy') {
      if (!hasHealthcheck(target, root)) problems.push(`depends_on ${name} (service_healthy): it has no healthcheck`);
    } else if (condition === 'service_completed_successfully') {
      if (!isOneShot(target)) {
        problems.push(`depends_on ${name} (${condition}): it is not a one-shot job (restart: "no")`);
      }
    } else {
      problems.push(
        `depends_on ${name}: condition ${condition}; wait for service_healthy or service_completed_successfully`,
      );
    }
  }
  return problems;
}

/** The environment the container gets is one its own code reads and accepts. */
function environmentRules(service: ComposeService, spec: ServiceSpec, project: ComposeProject, root: string): string[] {
  const problems: string[] = [];
  // Typos: a variable nobody reads is silently ignored by the service (Node.js's own are read).
  for (const key of Object.keys(declaredEnvironment(service))) {
    if (!spec.knownKeys.includes(key) && !NODE_READS.includes(key)) {
      problems.push(`environment ${key} is read by no setting of this service`);
    }
  }
  let runtime: { env: Record<string, string>; cwd: string };
  try {
    runtime = runtimeOf(service, root);
    spec.validate(runtime.env, runtime.cwd);
  } catch (error: unknown) {
    return [...problems, `its own config refuses the environment: ${describeError(error)}`];
  }
  const { env, cwd } = runtime;
  if (builtServiceDir(service) !== undefined) problems.push(...containerRules(service, spec, env));
  problems.push(...portRules(service, spec, env), ...fileRules(service, spec, env, cwd, root));

  // Redis and Kafka are reached by service name inside the compose network.
  const addresses: Array<[string, string]> = [];
  if (spec.knownKeys.includes('REDIS_URL') && env['REDIS_URL']) {
    addresses.push(['REDIS_URL', new URL(env['REDIS_URL']).host]);
  }
  if (spec.knownKeys.includes('KAFKA_BROKERS')) {
    for (const broker of (env['KAFKA_BROKERS'] ?? '').split(',').map((b) => b.trim())) {
      if (broker !== '') addresses.push(['KAFKA_BROKERS', broker]);
    }
  }
  for (const [key, address] of addresses) {
    const colon = address.lastIndexOf(':');
    const host = colon === -1 ? address : address.slice(0, colon);
    if (!project.services.has(host)) problems.push(`${key} points at ${address}, but there is no service ${host}`);
  }
  return problems;
}

/** What differs in a container from a local run: production mode, JSON logs, all interfaces, a long enough stop. */
function containerRules(service: ComposeService, spec: ServiceSpec, env: Env): string[] {
  const problems: string[] = [];
  for (const [key, value] of [
    ['NODE_ENV', 'production'],
    ['LOG_FORMAT', 'json'],
  ] as const) {
    if (env[key] !== value) problems.push(`${key} must be ${value} in a container, is ${env[key] ?? '(unset)'}`);
  }
  const hostKey = spec.portKey?.replace(/_PORT$/, '_HOST');
  if (hostKey && env[hostKey] !== '0.0.0.0')
    problems.push(`${hostKey} must be 0.0.0.0 so the published port reaches it`);
  const shutdownMs = Number(env['SHUTDOWN_TIMEOUT_MS'] ?? 25_000);
  const grace = service.definition['stop_grace_period'];
  if (grace === undefined || durationMs(grace, 'stop_grace_period') <= shutdownMs) {
    problems.push(
      `stop_grace_period must exceed SHUTDOWN_TIMEOUT_MS (${shutdownMs} ms), or a graceful stop ends in SIGKILL`,
    );
  }
  return problems;
}

/** Published on the port the service listens on, as .env has it (and its ops port, if any). */
function portRules(service: ComposeService, spec: ServiceSpec, env: Env): string[] {
  if (!spec.portKey) return [];
  const port = Number(env[spec.portKey]);
  const opsPort = spec.healthPortKey === undefined ? undefined : Number(env[spec.healthPortKey]);
  const ports = publishedPorts(service);
  if (ports.length === 0) return [`publishes no port (listens on ${spec.portKey}=${port})`];
  return ports
    .filter((p) => !(p.target === opsPort && p.published === opsPort))
    .filter((p) => p.target !== port || p.published !== port)
    .map(
      (p) => `publishes ${p.published}:${p.target} but listens on ${spec.portKey}=${port} (publish ${port}:${port})`,
    );
}

/** What the service writes is on a volume; what it reads is in the image or on a volume. */
function fileRules(service: ComposeService, spec: ServiceSpec, env: Env, cwd: string, root: string): string[] {
  const problems: string[] = [];
  const mounts = mountTargets(service);
  const onMount = (file: string): boolean => mounts.some((m) => file === m || file.startsWith(`${m}/`));
  for (const dir of spec.writablePaths?.(env) ?? []) {
    if (!path.posix.isAbsolute(dir)) problems.push(`writes to ${dir}: use an absolute path on a volume`);
    else if (service.definition['read_only'] === true && !onMount(dir)) {
      problems.push(`writes to ${dir} but its file system is read-only and no volume is mounted there`);
    }
  }
  const dir = builtServiceDir(service);
  const inImage = dir === undefined ? (): boolean => false : imageHolds(dir, root);
  for (const file of spec.readPaths?.(env, cwd) ?? []) {
    if (!onMount(file) && !inImage(file)) {
      problems.push(`reads ${file}, which is neither in the image nor on a mounted volume`);
    }
  }
  return problems;
}

/**
 * Redis and Kafka are published on the ports of the repository's .env, so tools on the host
 * (npm run load, the ops CLI) reach the containers unchanged, and Kafka advertises both the
 * address the containers use and the one the host uses.
 */
function infrastructurePortRules(project: ComposeProject, defaults: Env): string[] {
  const problems: string[] = [];
  const redis = project.services.get('redis');
  if (redis && defaults['REDIS_URL']) {
    const hostPort = Number(new URL(defaults['REDIS_URL']).port || 6379);
    if (!publishedPorts(redis).some((p) => p.published === hostPort && p.target === 6379)) {
      problems.push(`redis: must publish ${hostPort}:6379 (the REDIS_URL of .env)`);
    }
  }
  const consumersRedis = project.services.get('redis-consumers');
  if (consumersRedis && defaults['CONSUMERS_REDIS_URL']) {
    const hostPort = Number(new URL(defaults['CONSUMERS_REDIS_URL']).port || 6379);
    if (!publishedPorts(consumersRedis).some((p) => p.published === hostPort && p.target === 6379)) {
      problems.push(`redis-consumers: must publish ${hostPort}:6379 (the CONSUMERS_REDIS_URL of .env)`);
    }
  }
  const kafka = project.services.get('kafka');
  const broker = defaults['KAFKA_BROKERS']?.split(',')[0]?.trim();
  if (!kafka || !broker) return problems;
  const hostPort = portOfAddress(broker);
  const env = declaredEnvironment(kafka);
  const listeners = (env['KAFKA_LISTENERS'] ?? '').split(',');
  const advertised = (env['KAFKA_ADVERTISED_LISTENERS'] ?? '').split(',');
  if (!publishedPorts(kafka).some((p) => p.published === hostPort && p.target === hostPort)) {
    problems.push(`kafka: must publish ${hostPort}:${hostPort} (the KAFKA_BROKERS of .env)`);
  }
  if (!advertised.some((l) => l.endsWith(`//${broker}`))) {
    problems.push(`kafka: KAFKA_ADVERTISED_LISTENERS must advertise ${broker} for clients on the host`);
  }
  for (const service of project.services.values()) {
    if (!specOf(service)?.knownKeys.includes('KAFKA_BROKERS')) continue;
    for (const address of (declaredEnvironment(service)['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean)) {
      const listener = listeners.find((l) => portOfAddress(l) === portOfAddress(address))?.split('://')[0];
      if (!listener || !advertised.includes(`${listener}://${address}`)) {
        problems.push(`kafka: no listener advertises ${address}, which ${service.name} connects to`);
      }
    }
  }
  return problems;
}
