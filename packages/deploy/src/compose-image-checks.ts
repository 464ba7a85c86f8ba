import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../../runtime/src/dotenv.js';
import {
  commandArgv,
  copiesOf,
  dockerignoreMatcher,
  effectiveInstructions,
  finalStage,
  healthcheckOf,
  imageEnvironment,
  lastArgs,
  parseDockerfile,
  stageNamed,
  workdirOf,
  type CopyInstruction,
  type Dockerfile,
  type Stage,
} from './compose-dockerfile.js';
import { repoRoot } from './compose-files.js';
import { IMAGE_ROOT, serviceSpecs, type ServiceSpec } from './compose-services.js';

/** Variables Node.js itself reads (V8 flags for a service's heap), not the service's settings. */
const NODE_READS: readonly string[] = ['NODE_OPTIONS'];

/**
 * The rules of the service images (services/<name>/Dockerfile). Like the compose checks, each
 * returns the list of problems found, so a test shows all of them and can be run against
 * deliberately broken copies.
 */

export interface Workspace {
  readonly name: string;
  /** Relative to the repository, POSIX separators: `services/tracker`. */
  readonly dir: string;
  readonly manifest: { readonly dependencies?: Readonly<Record<string, string>> };
}

export function workspaces(root = repoRoot): Map<string, Workspace> {
  const result = new Map<string, Workspace>();
  for (const group of ['packages', 'services']) {
    for (const entry of readdirSync(path.join(root, group), { withFileTypes: true })) {
      const file = path.join(root, group, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
      };
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

export interface ImageCheckContext {
  readonly root: string;
  readonly dockerignore: string;
  readonly workspaces: ReadonlyMap<string, Workspace>;
  /** The repository's .env: the ports the images expose. */
  readonly defaults: Env;
}

export function readDockerfile(serviceDir: string, root = repoRoot): string {
  return readFileSync(path.join(root, serviceDir, 'Dockerfile'), 'utf8');
}

/** What one rule looks at. */
interface Subject {
  readonly serviceDir: string;
  readonly name: string;
  readonly spec: ServiceSpec;
  readonly dockerfile: Dockerfile;
  readonly final: Stage;
  readonly context: ImageCheckContext;
}

const PINNED_NODE_IMAGE = /^node:\d+\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/;

/** Checks one service's Dockerfile; `serviceDir` is `services/<name>`. */
export function checkDockerfile(serviceDir: string, text: string, context: ImageCheckContext): string[] {
  const where = `${serviceDir}/Dockerfile`;
  const name = path.posix.basename(serviceDir);
  const spec = serviceSpecs[name];
  if (!spec) return [`${where}: no ServiceSpec for ${name}; add one to compose-services.ts`];
  let dockerfile: Dockerfile;
  try {
    dockerfile = parseDockerfile(text);
  } catch (error: unknown) {
    return [`${where}: ${error instanceof Error ? error.message : String(error)}`];
  }
  const subject: Subject = { serviceDir, name, spec, dockerfile, final: finalStage(dockerfile), context };
  return [
    ...stageRules(subject),
    ...runtimeRules(subject),
    ...healthcheckRules(subject),
    ...contextRules(subject),
    ...workspaceRules(subject),
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
  return problems;
}

/** How the container starts: user, command, directory, environment, port. */
function runtimeRules({ serviceDir, name, spec, dockerfile, final, context }: Subject): string[] {
  const problems: string[] = [];
  const user = lastArgs(final, 'USER');
  if (user === undefined || /^(root|0)(:.*)?$/.test(user)) {
    problems.push(`the final stage must switch to a non-root USER (has ${user ?? 'none'})`);
  }
  const cmd = lastArgs(final, 'CMD');
  if (cmd === undefined || JSON.stringify(commandArgv(cmd)) !== JSON.stringify(['node', 'dist/main.js'])) {
    problems.push(
      `CMD must be ["node", "dist/main.js"] (exec form, so node gets the signals), not ${cmd ?? 'missing'}`,
    );
  }
  const workdir = workdirOf(final);
  if (workdir !== `${IMAGE_ROOT}/${serviceDir}`) {
    problems.push(`the final WORKDIR must be ${IMAGE_ROOT}/${serviceDir}, not ${workdir}`);
  }
  const env = imageEnvironment(dockerfile);
  if (env['NODE_ENV'] !== 'production') problems.push('the final stage must set ENV NODE_ENV=production');
  for (const key of Object.keys(env)) {
    if (!spec.knownKeys.includes(key) && !NODE_READS.includes(key)) {
      problems.push(`ENV ${key} is read by no setting of ${name}`);
    }
  }
  if (spec.portKey) {
    const port = context.defaults[spec.portKey];
    const exposed = final.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    if (port === undefined || !exposed.includes(port)) {
      problems.push(
        `EXPOSE ${exposed.join(' ') || '(none)'} must include ${spec.portKey}=${port ?? '(unset in .env)'}`,
      );
    }
  }
  return problems;
}

/** A probe that runs in a slim image (node, no curl) against /healthz on the configured port. */
function healthcheckRules({ spec, final }: Subject): string[] {
  const healthcheck = healthcheckOf(final);
  if (!healthcheck) return ['the final stage needs a HEALTHCHECK'];
  const problems: string[] = [];
  const script = healthcheck.argv.join(' ');
  if (healthcheck.argv[0] !== 'node') problems.push('HEALTHCHECK must run node (the slim image has no curl or wget)');
  if (!script.includes('/healthz')) problems.push('HEALTHCHECK must probe /healthz');
  if (spec.portKey && !script.includes(`process.env.${spec.portKey}`)) {
    problems.push(`HEALTHCHECK must follow the port variable ${spec.portKey}`);
  }
  return problems;
}

/** Every file taken from the build context exists and is not dropped by .dockerignore. */
function contextRules({ dockerfile, context }: Subject): string[] {
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
  return problems;
}

/**
 * The workspaces the service needs at run time: their manifests before npm ci, each built after
 * those it depends on, their dist/ in the final image over production-only node_modules.
 */
function workspaceRules({ serviceDir, dockerfile, final, context }: Subject): string[] {
  const problems: string[] = [];
  const closure = productionClosure(serviceDir, context.workspaces);
  const fromContext = new Set(
    dockerfile.stages.flatMap((s) => copiesOf(s).filter((c) => c.from === undefined)).flatMap((c) => c.sources),
  );
  const finalCopies = copiesOf(final);
  const copiesIntoFinal = (source: string, destination: string, from?: (c: CopyInstruction) => boolean): boolean =>
    finalCopies.some((c) => c.sources.includes(source) && c.destination === destination && (from?.(c) ?? true));

  for (const file of ['package.json', 'package-lock.json']) {
    if (!fromContext.has(file)) problems.push(`the root ${file} must be copied (npm ci needs it)`);
  }
  for (const workspace of closure) {
    if (!fromContext.has(`${workspace.dir}/package.json`)) {
      problems.push(`${workspace.dir}/package.json must be copied before npm ci`);
    }
    const dist = `${workspace.dir}/dist`;
    if (!copiesIntoFinal(`${IMAGE_ROOT}/${dist}`, dist, (c) => c.from !== undefined)) {
      problems.push(`the final stage must COPY --from=<build> ${IMAGE_ROOT}/${dist} ${dist}`);
    }
  }

  const builds = dockerfile.stages
    .filter((s) => s !== final)
    .flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN'))
    .flatMap((i) => [...i.args.matchAll(/npm run build --workspace (\S+)/g)].map((m) => m[1] as string));
  const closureDirs = closure.map((w) => w.dir);
  const inOrder = closure.every((w) =>
    workspaceDependencies(w, context.workspaces).every((d) => builds.indexOf(d.dir) < builds.indexOf(w.dir)),
  );
  if (builds.length !== closureDirs.length || !closureDirs.every((d) => builds.includes(d)) || !inOrder) {
    problems.push(
      `must build ${closureDirs.join(', ')}, each after the workspaces it depends on; ` +
        `builds ${builds.join(', ') || 'nothing'}`,
    );
  }

  const publicDir = `${serviceDir}/public`;
  if (existsSync(path.join(context.root, publicDir)) && !copiesIntoFinal(publicDir, publicDir)) {
    problems.push(`the final stage must COPY ${publicDir} ${publicDir} (served at run time)`);
  }

  const runs = dockerfile.stages.flatMap((stage) =>
    effectiveInstructions(dockerfile, stage)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => ({ stage, args: i.args })),
  );
  const prodInstall = runs.find(
    (r) => /npm ci\b/.test(r.args) && /--omit=dev\b/.test(r.args) && r.args.includes(`--workspace ${serviceDir}`),
  );
  if (!prodInstall) {
    problems.push(`a stage must install production dependencies only: npm ci --omit=dev --workspace ${serviceDir}`);
  } else if (!finalCopies.some((c) => c.from === prodInstall.stage.name && c.sources.includes(IMAGE_ROOT))) {
    problems.push(
      `the final stage must COPY --from=${prodInstall.stage.name ?? '?'} ${IMAGE_ROOT} (production node_modules)`,
    );
  }
  if (runs.some((r) => r.stage === final && /npm (ci|install)\b/.test(r.args))) {
    problems.push('the final stage must not run npm (its cache and tooling would stay in the image)');
  }
  return problems;
}
