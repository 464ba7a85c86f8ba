/**
 * The pipeline's services as bench processes of their own: started with the built service when
 * `npm run build` ran (turbo's bench task builds first), else through tsx, and killed with this
 * process at the latest (see track).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '@pushtech/devstack';
import { sleep, track } from './latency-probe.js';

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
}

/** The built service when `npm run build` ran (turbo's bench task builds first), else via tsx. */
export function serviceArgs(service: string, script = 'main.ts'): { cwd: string; args: string[]; built: boolean } {
  const cwd = path.join(repoRoot, 'services', service);
  const dist = path.join(cwd, 'dist', script.replace(/\.ts$/, '.js'));
  if (script === 'main.ts' && existsSync(dist)) return { cwd, args: [dist], built: true };
  const source = script === 'main.ts' ? path.join(cwd, 'src', script) : path.join(cwd, 'bench', script);
  return { cwd, args: ['--conditions=development', '--import', 'tsx', source], built: false };
}

export async function startService(
  name: string,
  how: { cwd: string; args: string[] },
  env: Record<string, string>,
  port: number,
  health = '/readyz',
): Promise<Service> {
  const child = track(
    spawn(process.execPath, how.args, {
      cwd: how.cwd,
      env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[${name}] ${line}\n`));
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`${name} exited during start (see its lines above)`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}${health}`)).status < 300) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not become ready on port ${port} within 30 s`);
    await sleep(100);
  }
  return { name, child, port };
}

export async function stopService(service: Service): Promise<void> {
  if (service.child.exitCode !== null) return;
  const exited = new Promise((r) => service.child.once('exit', r));
  service.child.kill('SIGTERM');
  await exited;
}
