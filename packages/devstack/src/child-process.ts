import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) when the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  readonly hasExited: boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL at once (for tests that simulate a crash). */
  kill(): Promise<void>;
  /** Lets this Node process exit while the child still runs. */
  unref(): void;
}

/**
 * Starts a long-running infrastructure process with its output in a log file. It gets its own
 * process group, so a Ctrl-C in the terminal reaches only the devstack, which then stops
 * everything in order instead of all at once.
 */
export function startProcess(options: {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}): ManagedProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  const pid = child.pid;
  let hasExited = false;
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolve(code ?? signal ?? 0);
    });
    child.once('error', () => {
      hasExited = true;
      resolve(1);
    });
  });

  const signal = (sig: NodeJS.Signals): void => {
    if (hasExited) return;
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };

  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    get hasExited() {
      return hasExited;
    },
    async stop(graceMs: number) {
      if (hasExited) return;
      // The caller waits for the exit: an unref'd child must hold the event loop until then, or a
      // process with nothing else to do ends with the wait still pending. The SIGKILL timer holds
      // it only until it fires; a child that dies slowly after SIGKILL would outlast it.
      child.ref();
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!hasExited) child.ref();
      signal('SIGKILL');
      await exited;
    },
    unref() {
      child.unref();
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const reason = options.abortIf?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** How a short command ended, its combined output, and a few words saying how ("exit 1"). */
export interface RunResult {
  /** The exit code; 1 when a signal ended it (then `signal` says which). */
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr as they arrived (their order across the two is not kept exactly). */
  readonly text: string;
  /** stderr alone: where a tool prints why it failed. */
  readonly stderr: string;
  /** "exit 1", or "killed by SIGKILL": a signal is not reported as an exit code. */
  readonly ended: string;
}

/** Runs a short command to its end and returns how it ended and its combined output. */
export function runToEnd(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let text = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr?.on('data', (c: Buffer) => {
      text += c.toString();
      stderr += c.toString();
    });
    child.once('error', (error) =>
      resolve({ code: 127, signal: null, text: error.message, stderr: error.message, ended: 'not started' }),
    );
    child.once('close', (code, signal) =>
      resolve({
        code: code ?? 1,
        signal,
        text,
        stderr,
        ended: code === null && signal !== null ? `killed by ${signal}` : `exit ${code ?? 1}`,
      }),
    );
  });
}

/** The last line of a tool's output that says something: where Kafka's tools print their error (pass its stderr). */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim());
  return lines.filter((l) => l !== '').pop() ?? '(no output)';
}
