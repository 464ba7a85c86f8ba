import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startProcess, waitFor, type ManagedProcess } from './child-process.js';
import { requireCommand } from './commands.js';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Asks the Redis on a port for its process id (INFO server) over a raw socket: undefined when
 * nothing answers. The pid tells our Redis apart from another one already on that port.
 */
export function redisProcessId(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let answer = '';
    const done = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.startsWith('-')) return done(undefined);
      const pid = /\r\nprocess_id:(\d+)\r\n/.exec(answer);
      if (pid) done(Number(pid[1]));
    });
    socket.once('error', () => done(undefined));
  });
}

export async function pingRedis(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await redisProcessId(port, host)) !== undefined;
}

/**
 * When Redis answers a write. `always`: after the AOF write and fsync, so an answered write
 * survives a SIGKILL (and a power loss); the tracker's one LPUSH per loop turn makes each fsync
 * a group commit. `everysec` answers before the write() itself while a background fsync is
 * slow (up to 2 s) or while the disk is full, and a SIGKILL then loses answered writes: kept
 * only to show that the chaos suite and the tests can see that loss.
 */
export type AppendFsync = 'always' | 'everysec';

/**
 * A Redis configured as the pipeline expects its buffer: AOF with an fsync before every answer
 * (`appendfsync always`), no eviction (a full buffer must refuse writes, never drop events),
 * loopback only.
 */
export async function startRedisServer(options: {
  port: number;
  dir: string;
  appendOnly?: boolean;
  appendFsync?: AppendFsync;
  maxMemory?: string;
  startTimeoutMs?: number;
}): Promise<RedisServer> {
  const binary = requireCommand('redis-server');
  mkdirSync(options.dir, { recursive: true });
  const logFile = path.join(options.dir, 'redis.log');
  const args = [
    '--port',
    String(options.port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--dir',
    options.dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    options.appendFsync ?? 'always',
    '--maxmemory',
    options.maxMemory ?? '0',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
  const proc = startProcess({ name: 'redis', command: binary, args, logFile });
  const answeringPid = await waitFor('redis-server', () => redisProcessId(options.port), {
    timeoutMs: options.startTimeoutMs ?? 15_000,
    intervalMs: 50,
    abortIf: () => (proc.hasExited ? `exited during start-up; last log lines:\n${tail(logFile)}` : undefined),
  });
  if (answeringPid !== proc.pid) {
    await proc.stop(2_000);
    throw new Error(
      `redis-server: port ${options.port} is served by another Redis (pid ${answeringPid}); pick a free port`,
    );
  }
  return {
    url: `redis://127.0.0.1:${options.port}`,
    port: options.port,
    process: proc,
    stop: () => proc.stop(10_000),
  };
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
