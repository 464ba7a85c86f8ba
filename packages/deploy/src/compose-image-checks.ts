import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describeError, type Env } from '@pushtech/runtime';
import {
  commandArgv,
  copiesOf,
  dockerignoreMatcher,
  finalStage,
  flattened,
  healthcheckOf,
  imageEnvironment,
  lastArgs,
  parseDockerfile,
  stageNamed,
  workdirOf,
  type Dockerfile,
  type Stage,
} from './compose-dockerfile.js';
import { repoRoot } from './compose-files.js';
import { IMAGE_ROOT, serviceSpecs, type ServiceSpec } from './compose-services.js';

/** Variables Node.js itself reads (V8 flags for a service's heap), not the service's settings. */
export const NODE_READS: readonly string[] = ['NODE_OPTIONS'];

/**
 * The rules of the service images: one Dockerfile at the repository root, built once per
 * service with `--build-arg SERVICE=<folder of services/>`. Like the compose checks, each rule
 * returns the problems it finds, so a test shows all of them and can run them against
 * deliberately broken copies. What turbo prune and npm make of the workspace for each service
 * is checked by running them (image-workspace.ts); these rules check that the Dockerfile asks
 * them for it and runs the result the way the services need.
 */

/** The Dockerfile of every service image, relative to the repository root (the build context). */
export const DOCKERFILE = 'Dockerfile';

export function readDockerfile(root = repoRoot): string {
  return readFileSync(path.join(root, DOCKERFILE), 'utf8');
}

/** The deployables: folders of services/ with a package.json. */
export function serviceNames(root = repoRoot): string[] {
  return readdirSync(path.join(root, 'services'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, 'services', entry.name, 'package.json')))
    .map((entry) => entry.name)
    .sort();
}

/** The Dockerfile as `docker build --build-arg SERVICE=<service>` reads it. */
export function serviceDockerfile(text: string, service: string): Dockerfile {
  return parseDockerfile(text, { SERVICE: service });
}

export interface Workspace {
  readonly name: string;
  /** Relative to the repository, POSIX separators: `services/tracker`. */
  readonly dir: string;
  readonly manifest: {
    readonly dependencies?: Readonly<Record<string, string>>;
    readonly devDependencies?: Readonly<Record<string, string>>;
  };
}

export function workspaces(root = repoRoot): Map<string, Workspace> {
  const result = new Map<string, Workspace>();
  for (const group of ['packages', 'services']) {
    for (const entry of readdirSync(path.join(root, group), { withFileTypes: true })) {
      const file = path.join(root, group, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Workspace['manifest'] & { name: string };
      result.set(manifest.name, { name: manifest.name, dir: `${group}/${entry.name}`, manifest });
    }
  }
  return result;
}

/** The workspaces a workspace lists under `dependencies` (the run-time ones). */
export function workspaceDependencies(workspace: Workspace, all: ReadonlyMap<string, Workspace>): Workspace[] {
  return Object.keys(workspace.manifest.dependencies ?? {}).flatMap((name) => all.get(name) ?? []);
}

/** The workspace and every workspace it needs at run time, dependencies before dependents. */
export function productionClosure(dir: string, all: ReadonlyMap<string, Workspace>): Workspace[] {
  const start = [...all.values()].find((w) => w.dir === dir);
  if (!start) throw new Error(`${dir} is not a workspace`);
  const ordered: Workspace[] = [];
  const visit = (workspace: Workspace, trail: readonly string[]): void => {
    if (ordered.includes(workspace)) return;
    if (trail.includes(workspace.name)) throw new Error(`dependency cycle: ${[...trail, workspace.name].join(' -> ')}`);
    for (const dependency of workspaceDependencies(workspace, all)) visit(dependency, [...trail, workspace.name]);
    ordered.push(workspace);
  };
  visit(start, []);
  return ordered;
}

/**
 * Whether the image of a service holds a file: at IMAGE_ROOT it has the production install's
 * node_modules (the dependencies of the workspaces it runs, as in the repository) and those
 * workspaces' dist/ and public/; no sources, no devDependencies.
 */
export function imageHolds(serviceDir: string, root = repoRoot): (file: string) => boolean {
  const closure = productionClosure(serviceDir, workspaces(root));
  const dependencies = new Set(closure.flatMap((w) => Object.keys(w.manifest.dependencies ?? {})));
  return (file) => {
    if (!file.startsWith(`${IMAGE_ROOT}/`)) return false;
    const relative = file.slice(IMAGE_ROOT.length + 1);
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(relative)?.[1];
    const kept =
      pkg !== undefined
        ? dependencies.has(pkg)
        : closure.some((w) => relative.startsWith(`${w.dir}/dist/`) || relative.startsWith(`${w.dir}/public/`));
    return kept && existsSync(path.join(root, relative));
  };
}

export interface ImageCheckContext {
  readonly root: string;
  readonly dockerignore: string;
  readonly workspaces: ReadonlyMap<string, Workspace>;
  /** The repository's .env: the ports the images expose. */
  readonly defaults: Env;
}

export function imageCheckContext(defaults: Env, root = repoRoot): ImageCheckContext {
  const ignoreFile = path.join(root, '.dockerignore');
  const dockerignore = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '';
  return { root, dockerignore, workspaces: workspaces(root), defaults };
}

/**
 * Every rule for every service. A service without its stage, or an image fixed to one service,
 * shows as another service's image with the wrong base, port, probe or environment.
 */
export function checkDockerfile(text: string, context: ImageCheckContext): string[] {
  return serviceNames(context.root).flatMap((service) => checkImage(text, service, context));
}

/** What one rule looks at: the Dockerfile as built for one service. */
interface Subject {
  readonly service: string;
  readonly serviceDir: string;
  readonly spec: ServiceSpec;
  readonly dockerfile: Dockerfile;
  /** The final stage with what it inherits from the stages it starts from. */
  readonly image: Stage;
  readonly context: ImageCheckContext;
}

const PINNED_NODE_IMAGE = /^node:\d+\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/;

/** Checks the image of one service (`--build-arg SERVICE=<service>`). */
export function checkImage(text: string, service: string, context: ImageCheckContext): string[] {
  const where = `${DOCKERFILE} (SERVICE=${service})`;
  const spec = serviceSpecs[service];
  if (!spec) return [`${where}: no ServiceSpec for ${service}; add one to compose-services.ts`];
  let dockerfile: Dockerfile;
  try {
    dockerfile = serviceDockerfile(text, service);
  } catch (error: unknown) {
    return [`${where}: ${describeError(error)}`];
  }
  const image = flattened(dockerfile, finalStage(dockerfile));
  const subject: Subject = { service, serviceDir: `services/${service}`, spec, dockerfile, image, context };
  return [
    ...stageRules(subject),
    ...runtimeRules(subject),
    ...healthcheckRules(subject),
    ...contextRules(subject),
    ...pipelineRules(subject),
  ].map((problem) => `${where}: ${problem}`);
}

/** Built in one stage, run from a clean one, on a pinned glibc Node image. */
function stageRules({ dockerfile }: Subject): string[] {
  const problems: string[] = [];
  if (dockerfile.stages.length < 2) problems.push('must be multi-stage (build in one stage, run from a clean one)');
  for (const stage of dockerfile.stages) {
    const parent = stageNamed(dockerfile, stage.base);
    if (parent && parent.index < stage.index) continue;
    if (!PINNED_NODE_IMAGE.test(stage.base)) {
      problems.push(`FROM ${stage.base}: use a pinned node:<x.y.z>-bookworm-slim (glibc, for uWebSockets.js)`);
    }
  }
  // The classic slip: a build argument is empty in a stage that does not declare it again.
  for (const stage of dockerfile.stages) {
    const declared = new Set(
      stage.instructions.filter((i) => i.keyword === 'ARG').map((i) => i.args.split('=')[0]?.trim()),
    );
    for (const run of stage.instructions.filter((i) => i.keyword === 'RUN')) {
      const used = new Set([...run.args.matchAll(/\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)/g)].map((m) => m[1] ?? m[2]));
      for (const name of used) {
        if (name !== undefined && name in dockerfile.globalArgs && !declared.has(name)) {
          problems.push(
            `line ${run.line}: RUN uses \${${name}}, which stage ${stage.name ?? stage.index} does not declare (ARG ${name})`,
          );
        }
      }
    }
  }
  return problems;
}

/** How the container starts: user, command, directory, environment, port. */
function runtimeRules({ service, serviceDir, spec, dockerfile, image, context }: Subject): string[] {
  const problems: string[] = [];
  const user = lastArgs(image, 'USER');
  if (user === undefined || /^(root|0)(:.*)?$/.test(user)) {
    problems.push(`the image must run as a non-root USER (has ${user ?? 'none'})`);
  }
  const cmd = lastArgs(image, 'CMD');
  if (cmd === undefined || JSON.stringify(commandArgv(cmd)) !== JSON.stringify(['node', 'dist/main.js'])) {
    problems.push(
      `CMD must be ["node", "dist/main.js"] (exec form, so node gets the signals), not ${cmd ?? 'missing'}`,
    );
  }
  const workdir = workdirOf(image);
  if (workdir !== `${IMAGE_ROOT}/${serviceDir}`) {
    problems.push(`the image's WORKDIR must be ${IMAGE_ROOT}/${serviceDir}, not ${workdir}`);
  }
  const env = imageEnvironment(dockerfile);
  if (env['NODE_ENV'] !== 'production') problems.push('the image must set ENV NODE_ENV=production');
  for (const key of Object.keys(env)) {
    if (!spec.knownKeys.includes(key) && !NODE_READS.includes(key)) {
      problems.push(`ENV ${key} is read by no setting of ${service}`);
    }
  }
  if (spec.portKey) {
    const port = context.defaults[spec.portKey];
    const exposed = image.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    if (port === undefined || !exposed.includes(port)) {
      problems.push(
        `EXPOSE ${exposed.join(' ') || '(none)'} must include ${spec.portKey}=${port ?? '(unset in .env)'}`,
      );
    }
  }
  return problems;
}

/** A probe that runs in a slim image (node, no curl) against /healthz on the configured port. */
function healthcheckRules({ spec, image }: Subject): string[] {
  const healthcheck = healthcheckOf(image);
  if (!healthcheck) return ['the image needs a HEALTHCHECK'];
  const problems: string[] = [];
  const script = healthcheck.argv.join(' ');
  if (healthcheck.argv[0] !== 'node') problems.push('HEALTHCHECK must run node (the slim image has no curl or wget)');
  if (!script.includes('/healthz')) problems.push('HEALTHCHECK must probe /healthz');
  const healthPortKey = spec.healthPortKey ?? spec.portKey;
  if (healthPortKey && !script.includes(`process.env.${healthPortKey}`)) {
    problems.push(`HEALTHCHECK must follow the port variable ${healthPortKey}`);
  }
  return problems;
}

function filesUnder(root: string, dir: string): string[] {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const child = `${dir}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(root, child) : [child];
  });
}

/**
 * What the build reads is in the build context: every COPY source, turbo's view of the whole
 * workspace graph (each package.json, the lockfile, turbo.json), and the sources of the
 * workspaces the service runs.
 */
function contextRules({ serviceDir, dockerfile, context }: Subject): string[] {
  const problems: string[] = [];
  const ignored = dockerignoreMatcher(context.dockerignore);
  for (const stage of dockerfile.stages) {
    for (const copy of copiesOf(stage)) {
      if (copy.from !== undefined) {
        const source = stageNamed(dockerfile, copy.from);
        if (!source || source.index >= stage.index) {
          problems.push(`line ${copy.line}: COPY --from=${copy.from} names no earlier stage`);
        }
        continue;
      }
      for (const source of copy.sources) {
        if (!existsSync(path.join(context.root, source))) {
          problems.push(`line ${copy.line}: COPY ${source}: no such file in the repository`);
        } else if (ignored(source)) {
          problems.push(`line ${copy.line}: COPY ${source}: excluded by .dockerignore`);
        }
      }
    }
  }
  const closure = productionClosure(serviceDir, context.workspaces);
  const needed = [
    'package.json',
    'package-lock.json',
    'turbo.json',
    'tsconfig.base.json',
    ...[...context.workspaces.values()].map((w) => `${w.dir}/package.json`),
    ...closure.flatMap((w) => [
      `${w.dir}/tsconfig.build.json`,
      ...filesUnder(context.root, `${w.dir}/src`).filter((f) => !f.endsWith('.test.ts')),
      ...filesUnder(context.root, `${w.dir}/public`),
    ]),
  ];
  const dropped = needed.filter((file) => existsSync(path.join(context.root, file)) && ignored(file));
  if (dropped.length > 0) {
    problems.push(
      `.dockerignore drops what turbo prune and the build read: ${dropped.slice(0, 5).join(', ')}${dropped.length > 5 ? ', ...' : ''}`,
    );
  }
  return problems;
}

const PRUNE = /turbo prune "?@pushtech\/\$\{?SERVICE\}?"?\s.*--docker/;
const BUILD = /npm run build -- --filter="?@pushtech\/\$\{?SERVICE\}?"?/;
const SERVICE_WORKSPACE = /--workspace "?services\/\$\{?SERVICE\}?"?/;

function runsOf(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

/**
 * prune -> build -> production -> image: turbo prunes the workspace to the service, a stage
 * installs every dependency from the pruned manifests and builds with turbo, another installs
 * production dependencies only and keeps the workspaces npm resolves for the service, and the
 * image copies that tree and nothing else.
 */
function pipelineRules({ dockerfile, image, context }: Subject): string[] {
  const problems: string[] = [];
  const root = JSON.parse(readFileSync(path.join(context.root, 'package.json'), 'utf8')) as Workspace['manifest'];

  const prune = dockerfile.stages.find((s) => runsOf(s).some((r) => PRUNE.test(r)));
  if (!prune) {
    problems.push('a stage must run turbo prune "@pushtech/${SERVICE}" --docker');
  } else {
    const pinned = root.devDependencies?.['turbo'];
    if (
      dockerfile.globalArgs['TURBO_VERSION'] !== pinned ||
      !runsOf(prune).some((r) => r.includes('turbo@${TURBO_VERSION}'))
    ) {
      problems.push(
        `the prune stage must install turbo@\${TURBO_VERSION} with ARG TURBO_VERSION=${pinned ?? '?'} (the root package.json's)`,
      );
    }
  }
  const fromPrune = (stage: Stage, part: 'json' | 'full'): number =>
    stage.instructions.findIndex(
      (i) => i.keyword === 'COPY' && i.flags['from'] === prune?.name && i.args.includes(`/out/${part}`),
    );
  const runIndex = (stage: Stage, test: (args: string) => boolean): number =>
    stage.instructions.findIndex((i) => i.keyword === 'RUN' && test(i.args));

  const build = dockerfile.stages.find((s) => runsOf(s).some((r) => BUILD.test(r)));
  if (!build) {
    problems.push(
      'a stage must build with npm run build -- --filter="@pushtech/${SERVICE}" (turbo, in dependency order)',
    );
  } else {
    const json = fromPrune(build, 'json');
    const install = runIndex(build, (r) => /npm ci\b/.test(r) && !/--omit/.test(r));
    const full = fromPrune(build, 'full');
    const run = runIndex(build, (r) => BUILD.test(r));
    if (!(json >= 0 && json < install && install < full && full < run)) {
      problems.push(
        `stage ${build.name ?? build.index} must COPY out/json, npm ci (every dependency), then COPY out/full and build, ` +
          'so the install is reused until a manifest or the lockfile changes',
      );
    }
  }

  const tree = copiesOf(image).find((c) => c.from !== undefined && c.sources.includes(IMAGE_ROOT));
  const production = tree && stageNamed(dockerfile, tree.from as string);
  if (!production) {
    problems.push(
      `the image must COPY --from=<production stage> ${IMAGE_ROOT} (production node_modules and the built workspaces)`,
    );
  } else {
    const runs = runsOf(flattened(dockerfile, production));
    if (!runs.some((r) => /npm ci\b/.test(r) && /--omit=dev\b/.test(r) && SERVICE_WORKSPACE.test(r))) {
      problems.push(
        `stage ${production.name ?? '?'} must install production dependencies only: npm ci --omit=dev --workspace "services/\${SERVICE}"`,
      );
    }
    if (!runs.some((r) => /npm ls --omit=dev --all --parseable\b/.test(r) && SERVICE_WORKSPACE.test(r))) {
      problems.push(
        `stage ${production.name ?? '?'} must keep the workspaces npm ls --omit=dev --all --parseable --workspace "services/\${SERVICE}" resolves (not those of devDependencies)`,
      );
    }
    if (fromPrune(production, 'full') >= 0 || (build && stageNamed(dockerfile, production.base) === build)) {
      problems.push(
        `stage ${production.name ?? '?'} must start from the pruned manifests, not the build tree (sources, devDependencies)`,
      );
    }
  }
  if (copiesOf(image).some((c) => c.from !== undefined && c.from !== production?.name)) {
    problems.push('the image must copy only from the production stage');
  }
  if (runsOf(image).some((r) => /\bnpm\b|\bnpx\b|\bturbo\b/.test(r))) {
    problems.push('the image must not run npm or turbo (their cache and tooling would stay in it)');
  }
  return problems;
}
