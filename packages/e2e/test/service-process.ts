import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '@pushtech/devstack';
import type { Cleanup } from '@pushtech/devstack/testing';

export type Service = 'tracker' | 'kafkastore' | 'consumers' | 'kafidx';

// Absolute, because the services run in an empty folder where a bare 'tsx' would not resolve.
const tsxLoader = import.meta.resolve('tsx');

export interface Running {
  readonly label: string;
  /** Everything the process wrote so far, stdout and stderr together. */
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  readonly alive: () => boolean;
  stop(): Promise<number | null>;
}

/**
 * `services/<name>/src/main.ts` as production runs it: JSON logs at `logLevel`, only the given
 * environment (plus PATH, HOME and TMPDIR) and an empty working folder, so no .env is read.
 * SIGKILLed, and its folder removed, when the test ends.
 */
export function startService(
  t: Cleanup,
  label: string,
  name: Service,
  env: Record<string, string>,
  logLevel: 'info' | 'debug' = 'info',
): Running {
  const cwd = mkdtempSync(path.join(tmpdir(), `e2e-${name}-`));
  const main = path.join(repoRoot, 'services', name, 'src', 'main.ts');
  const inherited: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) inherited[key] = value;
  }
  const child = spawn(process.execPath, ['--conditions=development', '--import', tsxLoader, main], {
    cwd,
    env: { ...inherited, NODE_ENV: 'production', LOG_FORMAT: 'json', LOG_LEVEL: logLevel, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let alive = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      alive = false;
      resolve(code);
    }),
  );
  t.after(() => {
    if (alive) child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });
  return {
    label,
    output: () => output,
    exited,
    alive: () => alive,
    async stop() {
      if (alive) child.kill('SIGTERM');
      return exited;
    },
  };
}
