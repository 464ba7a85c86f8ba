import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '@pushtech/devstack';
import { eventually, type Cleanup } from '@pushtech/devstack/testing';

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

/** What a service's /readyz answered: its status (0 when nothing came) and body, which names the failing checks. */
export async function readiness(port: number): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, body: await response.text() };
  } catch (error: unknown) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return { status: 0, body: `no answer (${error instanceof Error ? error.message : String(error)}${cause})` };
  }
}

/**
 * Waits until the service's /readyz answers 200. A timeout says what /readyz answered last and
 * what the service printed last; a service that exits fails it with all it printed.
 */
export async function waitReady(service: Running, port: number, timeoutMs: number): Promise<void> {
  let last = 'nothing yet';
  await eventually(
    `${service.label} ready`,
    async () => {
      if (!service.alive()) throw new Error(`${service.label} exited:\n${service.output()}`);
      const { status, body } = await readiness(port);
      last = status === 0 ? body : `${status} ${body.slice(0, 500)}`;
      return status === 200 ? true : undefined;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    const lines = service.output().split('\n').slice(-40).join('\n');
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; /readyz last answered: ${last}; ` +
        `the last lines ${service.label} printed:\n${lines}`,
    );
  });
}
