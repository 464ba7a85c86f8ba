import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { eventually } from '@pushtech/devstack/testing';
import { request, waitReady } from './helpers.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface TrackerProcess {
  readonly child: ChildProcess;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  readonly output: string[];
}

/** `src/main.ts` in a process of its own, with JSON logs collected in `output`. */
export function spawnTracker(env: Record<string, string>): TrackerProcess {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', TRACKER_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output };
}

/** SIGKILLs the tracker and its workers, if any (a test's cleanup, or one that ran too long). */
export function killTracker(tracker: TrackerProcess): void {
  for (const pid of children(tracker.child.pid ?? 0)) process.kill(pid, 'SIGKILL');
  tracker.child.kill('SIGKILL');
}

/** The child processes of `pid` (Linux). */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * How long workers get to start. A two-worker tracker under tsx starts in about 2.3 s on an idle
 * machine; a CI run under the chaos suite's load once took more than 20 s.
 */
export const WORKERS_START_MS = 60_000;

/**
 * Waits for the supervisor's `count` workers: started, each listening with its own Redis
 * connection up (a request may reach any of them: /readyz alone answers for one), then ready.
 * Resolves with their pids.
 */
export async function waitForWorkers(tracker: TrackerProcess, port: number, count: number): Promise<number[]> {
  const supervisor = tracker.child.pid ?? 0;
  const workers = await eventually(
    `${count} workers`,
    () => (children(supervisor).length === count ? children(supervisor) : undefined),
    WORKERS_START_MS,
  );
  const said = (line: string): number => tracker.output.join('').split(line).length - 1;
  await eventually(
    'every worker listening with Redis ready',
    () => (said('tracker listening') === count && said('redis ready') === count ? true : undefined),
    WORKERS_START_MS,
  );
  await waitReady(port);
  return workers;
}

/** A value of the tracker's /metrics: the first sample line `pattern` matches; 0 when none does. */
export async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = (await request(port, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => !l.startsWith('#') && pattern.test(l));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A raw HTTP/1.1 connection: write bytes, read what came back, know when it closed. */
export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once `pattern` appears in what was received. */
  receivedMatch(pattern: RegExp): Promise<string>;
  readonly closed: Promise<void>;
}

export async function rawConnection(port: number): Promise<RawConnection> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let data = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (c: Buffer) => {
    data += c.toString('latin1');
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => data,
    closed,
    async receivedMatch(pattern) {
      let ended = false;
      void closed.then(() => (ended = true));
      while (!pattern.test(data)) {
        if (ended || socket.destroyed) throw new Error(`connection closed; received ${JSON.stringify(data)}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return data;
    },
  };
}
