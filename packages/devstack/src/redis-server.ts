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

/** Sends PING over a raw socket; true on +PONG. No client library needed to know Redis is up. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/**
 * A Redis configured as the pipeline expects its buffer: AOF with fsync every second, no
 * eviction (a full buffer must refuse writes, never drop events), loopback only.
 */
export async function startRedisServer(options: {
  port: number;
  dir: string;
  appendOnly?: boolean;
  maxMemory?: string;
  startTimeoutMs?: number;
}): Promise<RedisServer> {
  const binary = requireCommand('redis-server');
  mkdirSync(options.dir, { recursive: true });
  const logFile = path.join(options.dir, 'redis.log');
  const args = [
    '--port', String(options.port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', options.dir,
    '--save', '',
    '--appendonly', options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync', 'everysec',
    '--maxmemory', options.maxMemory ?? '0',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    '--logfile', '',
  ];
  const proc = startProcess({ name: 'redis', command: binary, args, logFile });
  await waitFor('redis-server', async () => ((await pingRedis(options.port)) ? true : undefined), {
    timeoutMs: options.startTimeoutMs ?? 15_000,
    intervalMs: 50,
    abortIf: () => (proc.hasExited ? `exited during start-up; last log lines:\n${tail(logFile)}` : undefined),
  });
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
