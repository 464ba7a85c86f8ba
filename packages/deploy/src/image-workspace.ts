import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { dockerignoreMatcher } from './compose-dockerfile.js';
import { repoRoot } from './compose-files.js';

/**
 * What the Dockerfile's first stages make of the repository for one service, reproduced
 * without a Docker engine by running the same tools: the build context (the repository minus
 * .dockerignore), `turbo prune --docker` on it, and the `npm ls --omit=dev` that picks the
 * workspaces the image keeps, read from the pruned lockfile instead of an install.
 */

/**
 * Copies the build context to `dest`, as `COPY . .` puts it into the prune stage. A folder
 * .dockerignore excludes is skipped whole (the repository's .dockerignore re-includes nothing).
 */
export function copyBuildContext(dest: string, dockerignore: string, root = repoRoot): number {
  const ignored = dockerignoreMatcher(dockerignore);
  let copied = 0;
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (ignored(child)) continue;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        mkdirSync(path.join(dest, relative), { recursive: true });
        copyFileSync(path.join(root, child), path.join(dest, child));
        copied += 1;
      }
    }
  };
  walk('');
  return copied;
}

/** `turbo prune @pushtech/<service> --docker` in a build context, with the repository's turbo; returns out/. */
export function prune(contextDir: string, service: string, root = repoRoot): string {
  const out = path.join(contextDir, `out-${service}`);
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'turbo'),
    ['prune', `@pushtech/${service}`, '--docker', '--out-dir', out],
    { cwd: contextDir, stdio: 'pipe', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' } },
  );
  return out;
}

export interface ProductionSet {
  /** Workspace folders (`packages/runtime`), as the image keeps them. */
  readonly workspaces: readonly string[];
  /** Names of every package a production install of the service resolves, workspaces included. */
  readonly packages: ReadonlySet<string>;
}

interface LockEntry {
  readonly link?: boolean;
  readonly resolved?: string;
}

/**
 * The production stage's selection, `npm ls --omit=dev --all --parseable --workspace
 * services/<service>`, run on the pruned manifests and lockfile (`--package-lock-only`, so
 * nothing is installed or downloaded).
 */
export function productionSet(outDir: string, service: string): ProductionSet {
  const json = path.join(outDir, 'json');
  const output = execFileSync(
    'npm',
    ['ls', '--package-lock-only', '--omit=dev', '--all', '--parseable', '--workspace', `services/${service}`],
    { cwd: json, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lock = JSON.parse(readFileSync(path.join(json, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const workspaces = new Set<string>();
  const packages = new Set<string>();
  for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
    const location = path.relative(json, line).split(path.sep).join('/');
    if (location === '') continue;
    const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages.add(name);
    const entry = lock.packages[location];
    if (entry?.link && entry.resolved) workspaces.add(entry.resolved);
  }
  return { workspaces: [...workspaces].sort(), packages };
}

/** The files a workspace's `tsconfig.build.json` compiles into dist/. */
export function buildSources(workspaceDir: string): string[] {
  const file = path.join(workspaceDir, 'tsconfig.build.json');
  const config = ts.readConfigFile(file, (name) => ts.sys.readFile(name));
  if (config.error) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(config.error.messageText, '\n')}`);
  return ts.parseJsonConfigFileContent(config.config, ts.sys, workspaceDir, undefined, file).fileNames;
}

const BUILTINS = new Set(builtinModules);

/** The packages a source file imports by name (`pino`, `@pushtech/event`), node's own modules left out. */
export function importedPackages(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    )
    .filter((name) => !BUILTINS.has(name));
}
