import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** What to install when promtool is missing (scripts/bootstrap.mjs installs it for `npm test`). */
export const PROMTOOL_PACKAGE = 'prometheus';

/** promtool is not installed: the message says which Debian package brings it. */
export class PromtoolMissingError extends Error {
  constructor(searched: string) {
    super(
      `promtool is not installed (looked in PATH: ${searched || '(empty)'}): it comes with Debian's ` +
        `\`${PROMTOOL_PACKAGE}\` package: \`sudo apt-get install --no-install-recommends ${PROMTOOL_PACKAGE}\` ` +
        '(`npm test` installs it when run as root). On a machine with systemd the package also starts a ' +
        'system Prometheus on port 9090; the project never uses that one.',
    );
    this.name = 'PromtoolMissingError';
  }
}

/** The promtool executable on `searchPath` (PATH by default), or undefined. */
export function findPromtool(searchPath: string = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'promtool');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export interface PromtoolResult {
  /** The exit code was 0. */
  readonly ok: boolean;
  readonly code: number | null;
  /** stdout and stderr, interleaved as promtool wrote them. */
  readonly output: string;
}

export interface PromtoolOptions {
  /** Directories to look for promtool in; PATH by default. */
  readonly searchPath?: string;
  readonly cwd?: string;
}

/**
 * Runs `promtool <args>` and resolves with its exit and output whatever the outcome (a failed
 * check is an answer, not an error); rejects with PromtoolMissingError when it is not installed.
 */
export async function runPromtool(args: readonly string[], options: PromtoolOptions = {}): Promise<PromtoolResult> {
  const searchPath = options.searchPath ?? process.env['PATH'] ?? '';
  const executable = findPromtool(searchPath);
  if (executable === undefined) throw new PromtoolMissingError(searchPath);
  const child = spawn(executable, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  return { ok: code === 0, code, output };
}

/** `promtool check rules <files>`: syntax, PromQL and templates of rules files. */
export function checkRules(files: readonly string[], options?: PromtoolOptions): Promise<PromtoolResult> {
  return runPromtool(['check', 'rules', ...files], options);
}

/** `promtool test rules <files>`: the unit tests of rules files (they name their rules files). */
export function testRules(files: readonly string[], options?: PromtoolOptions): Promise<PromtoolResult> {
  return runPromtool(['test', 'rules', ...files], options);
}
