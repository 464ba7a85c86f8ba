import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '@pushtech/runtime';

export const WORKER_ENV = 'PUSHTECH_TRACKER_WORKER';

/**
 * Bare-metal mode: N tracker processes share one port (uWebSockets.js listens with
 * SO_REUSEPORT, so the kernel spreads connections). A worker that dies is restarted with a
 * growing delay; SIGTERM/SIGINT are passed on and the supervisor exits once all workers have.
 */
export function superviseWorkers(count: number, entry: string, logger: Logger): void {
  const workers = new Map<number, ChildProcess>();
  let stopping = false;
  let failures = 0;

  const spawnWorker = (index: number): void => {
    const child = fork(entry, process.argv.slice(2), {
      env: { ...process.env, [WORKER_ENV]: String(index) },
      execArgv: process.execArgv,
      stdio: 'inherit',
    });
    workers.set(index, child);
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      workers.delete(index);
      // A worker that stopped gracefully was told to (a Ctrl-C reaches the whole process
      // group): the supervisor follows instead of restarting it.
      const graceful = code === 0 || signal === 'SIGTERM' || signal === 'SIGINT';
      if (graceful && !stopping) stopAll('worker stopped gracefully');
      if (stopping) {
        if (workers.size === 0) process.exit(failures > 0 ? 1 : 0);
        return;
      }
      failures = Date.now() - startedAt < 10_000 ? failures + 1 : 0;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
      logger.error({ worker: index, code, signal, restartInMs: delay }, 'tracker worker exited; restarting');
      setTimeout(() => spawnWorker(index), delay);
    });
  };

  for (let i = 0; i < count; i += 1) spawnWorker(i);
  logger.info({ workers: count }, 'tracker supervisor started');

  function stopAll(reason: string): void {
    if (stopping) return;
    stopping = true;
    failures = 0;
    logger.info({ reason }, 'stopping tracker workers');
    if (workers.size === 0) process.exit(0);
    for (const child of workers.values()) child.kill('SIGTERM');
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopAll(signal));
}
