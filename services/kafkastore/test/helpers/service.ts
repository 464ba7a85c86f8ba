import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, type Cleanup } from '@pushtech/devstack/testing';

const mainFile = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const tsxLoader = import.meta.resolve('tsx');

export interface ServiceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** kafkastore running as a child process, as in production. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly logs: ReadonlyArray<Record<string, unknown>>;
  readonly exited: Promise<ServiceExit>;
  /** The ops port, once the service logged it. */
  port(): Promise<number>;
  /** Resolves once /readyz answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  readyz(): Promise<number>;
  metrics(): Promise<string>;
  kill(signal: NodeJS.Signals): void;
}

/** The last error or fatal line a service logged (its logs go to stdout, as JSON): why it stopped. */
function lastError(logs: ReadonlyArray<Record<string, unknown>>): string {
  const line = [...logs].reverse().find((l) => l['level'] === 'error' || l['level'] === 'fatal');
  if (line === undefined) return 'no error logged';
  const err = line['err'] as { message?: unknown } | undefined;
  return `${String(line['msg'])}${typeof err?.message === 'string' ? `: ${err.message}` : ''}`;
}

/**
 * Starts src/main.ts with exactly `env` (plus PATH) in an empty working directory, so the
 * repository's .env does not leak in. The child is SIGKILLed when the test ends if still alive.
 */
export function startService(t: Cleanup, env: Readonly<Record<string, string>>): ServiceProcess {
  const cwd = mkdtempSync(path.join(tmpdir(), 'kafkastore-run-'));
  const child = spawn(process.execPath, ['--conditions=development', '--import', tsxLoader, mainFile], {
    cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'test',
      LOG_FORMAT: 'json',
      KAFKASTORE_HOST: '127.0.0.1',
      KAFKASTORE_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (process.env['KAFKASTORE_TEST_VERBOSE']) process.stderr.write(chunk);
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (process.env['KAFKASTORE_TEST_VERBOSE']) process.stderr.write(chunk);
  });
  const exited = new Promise<ServiceExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let alive = true;
  void exited.then(() => (alive = false));
  t.after(async () => {
    if (alive) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  const port = (): Promise<number> =>
    eventually(
      'kafkastore to log its ops port',
      () => {
        if (!alive) throw new Error(`kafkastore exited early (${lastError(logs)}); stderr: ${stderr.slice(-2000)}`);
        const line = logs.find((l) => l['msg'] === 'ops server listening');
        return typeof line?.['port'] === 'number' ? line['port'] : undefined;
      },
      30_000,
    );
  const get = async (route: string): Promise<Response> => fetch(`http://127.0.0.1:${await port()}${route}`);
  return {
    child,
    logs,
    exited,
    port,
    async ready(timeoutMs = 30_000) {
      await eventually(
        'kafkastore to be ready',
        async () => ((await get('/readyz')).status === 200 ? true : undefined),
        timeoutMs,
      );
    },
    async readyz() {
      return (await get('/readyz')).status;
    },
    async metrics() {
      return (await get('/metrics')).text();
    },
    kill(signal) {
      child.kill(signal);
    },
  };
}
