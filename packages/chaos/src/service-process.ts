import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackProcess } from './scope.js';

export type ServiceName = 'tracker' | 'kafkastore' | 'consumers' | 'kafidx';

const servicesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'services');
// Absolute, because the services run in an empty folder where a bare 'tsx' would not resolve.
const tsxLoader = import.meta.resolve('tsx');

export interface ServiceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  readonly at: number;
}

/** One tracker, kafkastore or consumers process, started exactly as in production. */
export interface ServiceProcess {
  readonly name: ServiceName;
  readonly pid: number;
  readonly startedAt: number;
  readonly exited: Promise<ServiceExit>;
  readonly alive: boolean;
  /** The last lines of output, for error messages. */
  recentOutput(): string;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with Date.now() once GET /readyz answers 200. */
  waitReady(timeoutMs: number): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<ServiceExit>;
}

export interface StartServiceOptions {
  readonly name: ServiceName;
  /** The whole environment besides PATH/HOME: nothing of this process's environment leaks in. */
  readonly env: Readonly<Record<string, string>>;
  /** The port /readyz answers on (TRACKER_PORT, KAFKASTORE_PORT or CONSUMERS_PORT). */
  readonly opsPort: number;
  /** An empty folder to run in, so no .env is found and read. */
  readonly cwd: string;
}

export function startService(options: StartServiceOptions): ServiceProcess {
  const main = path.join(servicesDir, options.name, 'src', 'main.ts');
  const inherited: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) inherited[key] = value;
  }
  const child = spawn(process.execPath, ['--conditions=development', '--import', tsxLoader, main], {
    cwd: options.cwd,
    env: { ...inherited, LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${process.execPath} ${main}`);
  const pid = child.pid;
  const startedAt = Date.now();
  const untrack = trackProcess(pid, options.name);

  const recent: string[] = [];
  const remember = (line: string): void => {
    recent.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (recent.length > 30) recent.shift();
  };
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line !== '') remember(line);
    });
  }

  let alive = true;
  const exited = new Promise<ServiceExit>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      untrack();
      resolve({ code, signal, at: Date.now() });
    });
  });
  const recentOutput = (): string => recent.join('\n') || '(no output)';

  return {
    name: options.name,
    pid,
    startedAt,
    exited,
    get alive() {
      return alive;
    },
    recentOutput,
    signal(signal) {
      if (alive) child.kill(signal);
    },
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!alive) throw new Error(`${options.name} exited before it was ready; its last output:\n${recentOutput()}`);
        const status = await fetch(`http://127.0.0.1:${options.opsPort}/readyz`, {
          signal: AbortSignal.timeout(1_000),
        }).then(
          async (r) => {
            await r.body?.cancel();
            return r.status;
          },
          () => 0,
        );
        if (status === 200) return Date.now();
        if (Date.now() > deadline) {
          throw new Error(
            `${options.name} not ready after ${timeoutMs} ms (GET /readyz answered ${status || 'nothing'}); its last output:\n${recentOutput()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(graceMs) {
      if (alive) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      }
      return exited;
    },
  };
}
