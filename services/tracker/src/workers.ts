import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '@pushtech/runtime';

export const WORKER_ENV = 'PUSHTECH_TRACKER_WORKER';

/** After the workers' own budget, this long before the supervisor kills what is left. */
const KILL_GRACE_MS = 2_000;

/**
 * Bare-metal mode: N tracker processes share one port (uWebSockets.js listens with
 * SO_REUSEPORT, so the kernel spreads connections). A worker that dies is restarted with a
 * growing delay. SIGTERM/SIGINT stop the workers and the supervisor exits once all have: 0 when
 * every worker stopped cleanly, 1 when one did not or had to be killed after
 * `shutdownTimeoutMs` (each worker's own budget) and a short grace. A second signal kills them.
 */
export function superviseWorkers(
  count: number,
  entry: string,
  logger: Logger,
  options: { shutdownTimeoutMs: number },
): void {
  const workers = new Map<number, ChildProcess>();
  let stopping = false;
  let failures = 0;
  let uncleanStops = 0;

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
        if (code !== 0) {
          uncleanStops += 1;
          logger.error({ worker: index, code, signal }, 'tracker worker did not stop cleanly');
        }
        if (workers.size === 0) process.exit(uncleanStops > 0 ? 1 : 0);
        return;
      }
      failures = Date.now() - startedAt < 10_000 ? failures + 1 : 0;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
      logger.error({ worker: index, code, signal, restartInMs: delay }, 'tracker worker exited; restarting');
      setTimeout(() => {
        if (!stopping) spawnWorker(index);
      }, delay);
    });
  };

  for (let i = 0; i < count; i += 1) spawnWorker(i);
  logger.info({ workers: count }, 'tracker supervisor started');

  function stopAll(reason: string): void {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping tracker workers');
    if (workers.size === 0) process.exit(0);
    // Closing the IPC channel tells a worker to stop (see main.ts). Not a second signal: a
    // worker that got the terminal's SIGINT too would take that one as "exit now".
    for (const child of workers.values()) if (child.connected) child.disconnect();
    setTimeout(() => {
      for (const child of workers.values()) child.kill('SIGKILL');
      logger.error({ workers: workers.size }, 'tracker workers still running after their shutdown budget; killed');
    }, options.shutdownTimeoutMs + KILL_GRACE_MS).unref();
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (!stopping) {
        stopAll(signal);
        return;
      }
      // A second signal while stopping: now, as a single process does.
      logger.warn({ signal }, 'second signal while stopping; killing the workers');
      for (const child of workers.values()) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}
