/**
 * The benches' side of latency-consumer.ts (a consumer in a process of its own) and the guard
 * that no child process a bench started outlives it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Percentiles } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Every child process a bench starts; whatever way the bench ends, none outlives it: at its exit
// each gets SIGKILL. Stopped by a signal, the bench first gives them SIGTERM and up to
// SIGNAL_GRACE_MS to stop in order (devstack up stops its whole stack on SIGTERM), then exits.
const children = new Set<ChildProcess>();
/** Processes started detached in their own group (devstack's Redis and Kafka): by pid. */
const pids = new Set<number>();
const SIGNAL_GRACE_MS = 30_000;
const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;
/** Sends `signal` to a pid; false when it is gone (signal 0 only asks). */
const signalled = (pid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
};
const signalPids = (signal: NodeJS.Signals): void => {
  for (const pid of pids) if (!signalled(pid, signal)) pids.delete(pid); // gone already
};
/** Temporary folders (a floor's data): removed at exit, the finally blocks a signal skips. */
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of children) if (running(child)) child.kill('SIGKILL');
  signalPids('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
let stopping = false;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`bench: ${signal}: stopping the processes this bench started\n`);
    for (const child of children) if (running(child)) child.kill('SIGTERM');
    signalPids('SIGTERM');
    const deadline = Date.now() + SIGNAL_GRACE_MS;
    const poll = setInterval(() => {
      const alive = [...pids].some((pid) => signalled(pid, 0)) || [...children].some(running);
      if (!alive || Date.now() > deadline) {
        clearInterval(poll);
        process.exit(code);
      }
    }, 200);
  });
}
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
/** A process this bench started but holds no handle of (see track); forget it once stopped. */
export function trackPid(pid: number): () => void {
  pids.add(pid);
  return () => void pids.delete(pid);
}
/** A temporary folder to remove at exit at the latest (see track). */
export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

export interface ConsumerReport {
  readonly consumed: number;
  readonly undecodable: number;
  readonly append: Percentiles;
  readonly consume: Percentiles;
}

export class LatencyConsumer {
  consumed = 0;
  private pendingReport: ((r: ConsumerReport) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { type: string; consumed?: number } & Partial<ConsumerReport>) => {
      if (m.type === 'progress' && m.consumed !== undefined) this.consumed = m.consumed;
      if (m.type === 'report') {
        this.consumed = m.consumed ?? this.consumed;
        this.pendingReport?.(m as ConsumerReport);
      }
    });
  }

  /** The consumer's process id (its CPU is not the pipeline's). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(brokers: string, topic: string, log: (line: string) => void): Promise<LatencyConsumer> {
    const child = track(
      fork(path.join(here, 'latency-consumer.ts'), [], {
        execArgv: ['--conditions=development', '--import', 'tsx'],
        env: { ...process.env, BENCH_BROKERS: brokers, BENCH_TOPIC: topic },
      }),
    );
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`latency consumer exited (${code}) before it was ready`)));
      child.on('message', (m: { type: string }) => {
        if (m.type === 'ready') resolve();
      });
    });
    await ready;
    child.removeAllListeners('exit');
    child.once('exit', (code) => {
      if (code !== 0) {
        log(`the latency consumer died (${code})`);
        process.exit(1);
      }
    });
    return new LatencyConsumer(child);
  }

  reset(): void {
    this.child.send({ type: 'reset' });
  }

  report(): Promise<ConsumerReport> {
    return new Promise((resolve) => {
      this.pendingReport = resolve;
      this.child.send({ type: 'report' });
    });
  }

  /** Waits until the consumer has seen `target` events; returns the wait in ms, or NaN on timeout. */
  async caughtUp(target: number, timeoutMs: number): Promise<number> {
    const begin = Date.now();
    while (this.consumed < target) {
      if (Date.now() - begin > timeoutMs) return NaN;
      await sleep(50);
    }
    return Date.now() - begin;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.removeAllListeners('exit'); // the "died" handler; this exit is asked for
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
