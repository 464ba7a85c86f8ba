/**
 * `npm start` as a test or a benchmark needs it: `devstack up` in a child process, every port
 * and the state folder its own, so it never meets the developer's running stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

export interface PrivateUpPorts {
  readonly redis: number;
  readonly consumersRedis: number;
  readonly kafka: number;
  readonly controller: number;
  readonly tracker: number;
  readonly kafkastore: number;
  readonly consumers: number;
  readonly kafidx: number;
  readonly kafidxOps: number;
  readonly prometheus: number;
  readonly postgres: number;
}

export interface PrivateUp {
  readonly ports: PrivateUpPorts;
  /** The state folder (`PUSHTECH_STATE_DIR` is `<root>/state`; the archive is `<root>/archive`). */
  readonly root: string;
  readonly child: ChildProcess;
  /** The last 400 lines it printed (stdout and stderr). */
  readonly output: readonly string[];
  /** The last 60 of them, for an error message. */
  tail(): string;
  /** SIGTERM, then waits for the exit (which stops every part), then removes the folder. */
  stop(): Promise<void>;
}

/**
 * Starts `devstack up` on free ports with warn-level JSON logs. `env` adds or overrides settings;
 * a setting given as `undefined` is left to `.env` (not taken from the caller's shell either).
 */
export async function startPrivateUp(env: Readonly<Record<string, string | undefined>> = {}): Promise<PrivateUp> {
  const root = mkdtempSync(path.join(tmpdir(), 'pushtech-up-'));
  const ports: PrivateUpPorts = {
    redis: await freePort(),
    consumersRedis: await freePort(),
    kafka: await freePort(),
    controller: await freePort(),
    tracker: await freePort(),
    kafkastore: await freePort(),
    consumers: await freePort(),
    kafidx: await freePort(),
    kafidxOps: await freePort(),
    prometheus: await freePort(),
    postgres: await freePort(),
  };
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PUSHTECH_STATE_DIR: path.join(root, 'state'),
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    CONSUMERS_REDIS_URL: `redis://127.0.0.1:${ports.consumersRedis}`,
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    DEVSTACK_KAFKA_CONTROLLER_PORT: String(ports.controller),
    DEVSTACK_KAFKA_HEAP_MB: '384',
    DEVSTACK_PROMETHEUS_PORT: String(ports.prometheus),
    TRACKER_PORT: String(ports.tracker),
    KAFKASTORE_PORT: String(ports.kafkastore),
    CONSUMERS_PORT: String(ports.consumers),
    KAFIDX_PORT: String(ports.kafidx),
    KAFIDX_OPS_PORT: String(ports.kafidxOps),
    KAFIDX_HEALTH_TARGETS: ['tracker', 'kafkastore', 'consumers']
      .map((name) => `${name}=http://127.0.0.1:${ports[name as 'tracker']}/metrics`)
      .join(','),
    ARCHIVE_DIR: path.join(root, 'archive'),
    // The devstack's PostgreSQL (as .env's, user and database pushtech) on a port of its own.
    POSTGRES_URL: `postgres://pushtech@127.0.0.1:${ports.postgres}/pushtech`,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    // The services' default, not the caller's shell.
    TRACKER_WORKERS: undefined,
    ...env,
  };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', cli, 'up'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 400) output.shift();
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    ports,
    root,
    child,
    output,
    tail: () => output.slice(-60).join('\n'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
