import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { startProcess, runToEnd, waitFor, type ManagedProcess } from './child-process.js';
import { MissingPrerequisiteError, installHints, which } from './commands.js';
import { forgetProcesses, recordProcesses, stopLeftovers } from './leftovers.js';
import { tail } from './redis-server.js';

export interface PostgresServer {
  /** postgres://pushtech@127.0.0.1:<port>/pushtech (trust on loopback: no password). */
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** Fast shutdown (SIGINT: open sessions are ended), SIGKILL after the grace. */
  stop(): Promise<void>;
}

/** The role and database the devstack creates; the sink and kafidx connect as it. */
export const POSTGRES_USER = 'pushtech';
export const POSTGRES_DATABASE = 'pushtech';

/**
 * The folder of PostgreSQL's server binaries: where `initdb` on PATH really is, else Debian's
 * `/usr/lib/postgresql/<major>/bin` (the package keeps them off PATH), newest major first.
 */
export function postgresBinDir(pathVar?: string, debianRoot = '/usr/lib/postgresql'): string {
  // A symlink on PATH (e.g. /usr/local/bin/initdb) leads to the folder with the other tools.
  const onPath = which('initdb', pathVar);
  if (onPath) return path.dirname(realpathSync(onPath));
  const majors = existsSync(debianRoot)
    ? readdirSync(debianRoot)
        .filter((d) => /^\d+$/.test(d) && existsSync(path.join(debianRoot, d, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors[0] === undefined) throw new MissingPrerequisiteError('postgresql', installHints.postgresql);
  return path.join(debianRoot, majors[0], 'bin');
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user. */
interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** Prefix of a command line that runs the rest as that user (exec, same pid). */
  readonly prefix: readonly string[];
}

function runAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('postgres: running as root, but there is no `postgres` user to run PostgreSQL as');
  }
  const setpriv = which('setpriv');
  if (!setpriv) throw new Error('postgres: running as root needs setpriv (util-linux) to run PostgreSQL as postgres');
  return {
    uid: Number(uid),
    gid: Number(gid),
    prefix: [setpriv, '--reuid=postgres', '--regid=postgres', '--init-groups', '--reset-env', '--'],
  };
}

/**
 * As root, every folder above `dir` must let the postgres user pass (mkdtemp makes its folder
 * 0700, and a test's stack lives two levels below one): each one lacking it gets the search bit
 * for others, never the read bit, so its listing stays private.
 */
function letPostgresIn(dir: string, user: RunAs): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, user.uid, user.gid);
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    const mode = statSync(parent).mode;
    if ((mode & 0o001) === 0) chmodSync(parent, (mode & 0o7777) | 0o001);
    if (path.dirname(parent) === parent) break;
  }
}

function command(bin: string, user: RunAs | undefined, args: readonly string[]): [string, string[]] {
  if (!user) return [bin, [...args]];
  const [head, ...rest] = user.prefix as [string, ...string[]];
  return [head, [...rest, bin, ...args]];
}

/**
 * A PostgreSQL of the pipeline's own (Debian's `postgresql` binaries; never the system one on
 * 5432): `initdb` into `dir` on first use, then `postgres` on loopback TCP only (no Unix socket),
 * a role and database `pushtech`, trust authentication on 127.0.0.1. As root it runs as the
 * `postgres` user, which owns the data folder.
 */
export async function startPostgresServer(options: {
  port: number;
  dir: string;
  startTimeoutMs?: number;
  pathVar?: string;
  /** Extra `-c name=value` settings (e.g. fsync=off for a throw-away test database). */
  settings?: Readonly<Record<string, string>>;
}): Promise<PostgresServer> {
  const bin = postgresBinDir(options.pathVar);
  const user = runAs();
  const data = path.join(options.dir, 'data');
  mkdirSync(options.dir, { recursive: true });
  if (user) letPostgresIn(options.dir, user);
  const logFile = path.join(options.dir, 'postgres.log');
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    const [cmd, args] = command(path.join(bin, 'initdb'), user, [
      '-D',
      data,
      '-U',
      POSTGRES_USER,
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const init = await runToEnd(cmd, args);
    if (init.code !== 0) throw new Error(`postgres: initdb ${data} failed (${init.ended}):\n${init.text.trim()}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '100',
    ...options.settings,
  };
  const [cmd, args] = command(path.join(bin, 'postgres'), user, [
    '-D',
    data,
    '-p',
    String(options.port),
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]);
  const proc = startProcess({ name: 'postgres', command: cmd, args, logFile, cwd: options.dir });
  const isready = path.join(bin, 'pg_isready');
  const answers = async (): Promise<boolean> =>
    (await runToEnd(isready, ['-q', '-h', '127.0.0.1', '-p', String(options.port), '-U', POSTGRES_USER])).code === 0;
  // Ours is up once its postmaster.pid names it with the status `ready` (written after it bound
  // the port) and the port answers. The pid file alone is not enough: a server that cannot bind
  // writes one before it gives up, while another server already answers on the port.
  const pidFile = path.join(data, 'postmaster.pid');
  const oursReady = (): boolean => {
    if (!existsSync(pidFile)) return false;
    const lines = readFileSync(pidFile, 'utf8').split('\n');
    return Number(lines[0]) === proc.pid && lines[7]?.trim() === 'ready';
  };
  try {
    try {
      await waitFor('postgres', async () => (oursReady() && (await answers()) ? true : undefined), {
        timeoutMs: options.startTimeoutMs ?? 45_000,
        intervalMs: 100,
        abortIf: () => (proc.hasExited ? `exited during start-up; last log lines:\n${tail(logFile)}` : undefined),
      });
    } catch (error: unknown) {
      if (proc.hasExited && (await answers())) {
        throw new Error(`postgres: port ${options.port} is served by another PostgreSQL; pick a free port`);
      }
      throw error;
    }
    await ensureDatabase(bin, options.port);
  } catch (error: unknown) {
    await stopFast(proc, 5_000);
    throw error;
  }
  return {
    url: `postgres://${POSTGRES_USER}@127.0.0.1:${options.port}/${POSTGRES_DATABASE}`,
    port: options.port,
    process: proc,
    stop: () => stopFast(proc, 15_000),
  };
}

async function ensureDatabase(bin: string, port: number): Promise<void> {
  const created = await runToEnd(path.join(bin, 'createdb'), [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    POSTGRES_USER,
    POSTGRES_DATABASE,
  ]);
  if (created.code !== 0 && !created.text.includes('already exists')) {
    throw new Error(`postgres: createdb ${POSTGRES_DATABASE} failed:\n${created.text.trim()}`);
  }
}

/** SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every client to leave. */
async function stopFast(proc: ManagedProcess, graceMs: number): Promise<void> {
  if (proc.hasExited) return;
  try {
    process.kill(proc.pid, 'SIGINT');
  } catch {
    // already gone
  }
  const timer = setTimeout(() => void proc.kill(), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/**
 * The PostgreSQL of `npm start`: in `<stateDir>/postgres`, its pid recorded there so a killed
 * devstack's PostgreSQL is stopped by the next run. Unlike Prometheus it is part of the
 * pipeline (the sink writes to it): when it cannot start, `npm start` stops with the reason.
 */
export async function startLocalPostgres(options: {
  stateDir: string;
  port: number;
  log: (line: string) => void;
}): Promise<PostgresServer> {
  const dir = path.join(options.stateDir, 'postgres');
  mkdirSync(dir, { recursive: true });
  await stopLeftovers(dir, options.log);
  const server = await startPostgresServer({ port: options.port, dir });
  recordProcesses(dir, [{ name: 'postgres', pid: server.process.pid }]);
  return {
    ...server,
    stop: async () => {
      await server.stop();
      forgetProcesses(dir);
    },
  };
}

/**
 * A throw-away PostgreSQL for a test or bench run, in `dir` (removed by the caller): no fsync
 * (the run's Redis has no AOF either). A killed server still keeps every commit, as the
 * sink's crash tests need: the WAL reaches the kernel before a commit answers (only the
 * machine's own crash could lose it).
 */
export function startThrowawayPostgres(dir: string, port: number): Promise<PostgresServer> {
  return startPostgresServer({
    port,
    dir: path.join(dir, 'postgres'),
    settings: { fsync: 'off', full_page_writes: 'off' },
  });
}
