import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The devstack records the processes it started in `<dir>/pids.json`. If a previous run was
 * killed before it could stop them (kill -9, a closed terminal), the next run finds and stops
 * them, so no Redis or Java process lingers and no port stays taken.
 */
interface Recorded {
  readonly name: string;
  readonly pid: number;
}

const fileName = 'pids.json';

export function recordProcesses(dir: string, processes: readonly Recorded[]): void {
  writeFileSync(path.join(dir, fileName), JSON.stringify({ owner: process.pid, processes }, null, 2));
}

export function forgetProcesses(dir: string): void {
  rmSync(path.join(dir, fileName), { force: true });
}

/** Whether a process (or, with a negative pid, a process group) still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Only a process whose command line names our directory is ours to stop (pids get reused). */
function belongsTo(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

export async function stopLeftovers(dir: string, log: (line: string) => void): Promise<number> {
  const file = path.join(dir, fileName);
  if (!existsSync(file)) return 0;
  let recorded: { owner?: number; processes?: Recorded[] };
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as typeof recorded;
  } catch {
    rmSync(file, { force: true });
    return 0;
  }
  if (recorded.owner !== undefined && recorded.owner !== process.pid && isAlive(recorded.owner)) {
    throw new Error(
      `another devstack (pid ${recorded.owner}) is running with ${dir}; stop it first (Ctrl-C in its terminal, or kill ${recorded.owner})`,
    );
  }
  let stopped = 0;
  for (const { name, pid } of recorded.processes ?? []) {
    if (!isAlive(pid) || !belongsTo(pid, dir)) continue;
    log(`stopping ${name} (pid ${pid}) left over from an earlier run`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    stopped += 1;
  }
  rmSync(file, { force: true });
  return stopped;
}

/** Throw-away stacks (test runs) live in `<tmp>/pushtech-stack-*` and `<tmp>/pushtech-test-*`. */
export const throwAwayPrefixes = ['pushtech-stack-', 'pushtech-test-'] as const;

/**
 * Removes throw-away stacks whose owner died without cleaning up (a test process killed on a
 * timeout, a CI job cancelled): their Redis and Kafka are stopped and their folder deleted.
 */
export async function sweepStaleStacks(tmp: string, log: (line: string) => void): Promise<number> {
  let swept = 0;
  for (const name of readdirSync(tmp)) {
    if (!throwAwayPrefixes.some((p) => name.startsWith(p))) continue;
    const dir = path.join(tmp, name);
    const file = path.join(dir, fileName);
    if (!existsSync(file)) continue;
    let owner: number | undefined;
    try {
      owner = (JSON.parse(readFileSync(file, 'utf8')) as { owner?: number }).owner;
    } catch {
      owner = undefined;
    }
    if (owner !== undefined && isAlive(owner)) continue;
    await stopLeftovers(dir, log);
    rmSync(dir, { recursive: true, force: true });
    swept += 1;
  }
  return swept;
}
