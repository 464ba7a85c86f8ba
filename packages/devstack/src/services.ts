import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ServiceInfo {
  readonly name: string;
  readonly dir: string;
}

/** Every folder of services/ whose package.json has a start script, in a stable order. */
export function discoverServices(root: string): ServiceInfo[] {
  if (!existsSync(root)) return [];
  // Ingest first: kafkastore drains what the tracker stores; readers after.
  const order = ['kafkastore', 'tracker', 'consumers', 'kafidx'];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, dir: path.join(root, d.name) }))
    .filter((s) => {
      const pkg = path.join(s.dir, 'package.json');
      if (!existsSync(pkg)) return false;
      const scripts = (JSON.parse(readFileSync(pkg, 'utf8')) as { scripts?: Record<string, string> }).scripts;
      return typeof scripts?.['start'] === 'string';
    })
    .sort((a, b) => rank(order, a.name) - rank(order, b.name) || a.name.localeCompare(b.name));
}

function rank(order: readonly string[], name: string): number {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}

export interface RunningService {
  readonly info: ServiceInfo;
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  stop(graceMs: number): Promise<number>;
}

/** Starts a service the way an operator would (`npm start` in its folder); `write` gets each output line. */
export function startService(info: ServiceInfo, env: NodeJS.ProcessEnv, write: (line: string) => void): RunningService {
  const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['start', '--silent'], {
    cwd: info.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', write);
  }
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
  return {
    info,
    child,
    exited,
    async stop(graceMs) {
      const group = child.pid;
      if (group === undefined) return exited;
      // The whole group: npm, its shell and the node process all get the signal.
      signalGroup(group, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), graceMs))]);
      // npm may exit before the service it started: wait until no member of the group is left.
      while (groupExists(group) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (groupExists(group)) signalGroup(group, 'SIGKILL');
      return code === -1 ? exited : code;
    },
  };
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // the group is already gone
  }
}

function groupExists(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}
