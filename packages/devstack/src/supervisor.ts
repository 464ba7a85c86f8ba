/**
 * Keeps one service running under `npm start` as Kubernetes or compose would: a service that
 * exits on its own is started again after a pause that doubles from 1 s up to 30 s, and falls
 * back to 1 s once a run stayed up for a minute. Readiness is its /readyz on its ops port.
 */
import { startService, type RunningService, type ServiceInfo } from './services.js';

export interface RestartPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run that stayed up this long resets the pause to `initialMs`. */
  readonly stableMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { initialMs: 1_000, maxMs: 30_000, stableMs: 60_000 };

export interface SupervisedService {
  readonly info: ServiceInfo;
  /** The current run's process (group leader). */
  readonly pid: number | undefined;
  /** Where readiness is read; undefined when the service has no ops port in the settings. */
  readonly readyzUrl: string | undefined;
  /** Settles once the service first answered /readyz with 200 (at once without a readyzUrl). */
  readonly ready: Promise<void>;
  /** Stops the current run and any restart still to come. Idempotent. */
  stop(graceMs: number): Promise<void>;
}

export function superviseService(options: {
  info: ServiceInfo;
  env: NodeJS.ProcessEnv;
  readyzUrl: string | undefined;
  /** One line of the service's own output. */
  write: (line: string) => void;
  /** The devstack's own messages about the service. */
  log: (line: string) => void;
  policy?: RestartPolicy;
}): SupervisedService {
  const { info, env, readyzUrl, log } = options;
  const policy = options.policy ?? defaultRestartPolicy;
  let stopping = false;
  let current: RunningService;
  let restartTimer: NodeJS.Timeout | undefined;
  let pauseMs = policy.initialMs;
  let everReady = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const start = (): void => {
    const run = startService(info, env, options.write);
    const startedAt = Date.now();
    current = run;
    void watchReadiness(run);
    void run.exited.then(async (code) => {
      if (stopping || current !== run) return;
      // npm may be gone while something it started still runs: clear the group first.
      await run.stop(5_000);
      if (stopping) return;
      if (Date.now() - startedAt >= policy.stableMs) pauseMs = policy.initialMs;
      const pause = pauseMs;
      pauseMs = Math.min(pauseMs * 2, policy.maxMs);
      log(`${info.name} crashed (${describeExit(run, code)}); restarting it in ${pause / 1000} s`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) start();
      }, pause);
    });
  };

  const watchReadiness = async (run: RunningService): Promise<void> => {
    if (readyzUrl === undefined) {
      markReady();
      return;
    }
    let exited = false;
    void run.exited.then(() => (exited = true));
    while (!exited && !stopping) {
      if ((await readyzStatus(readyzUrl)) === 200) {
        if (exited || stopping) return;
        if (everReady) log(`${info.name} is ready again (pid ${run.child.pid ?? '?'})`);
        everReady = true;
        markReady();
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  start();
  return {
    info,
    readyzUrl,
    ready,
    get pid() {
      return current.child.pid;
    },
    async stop(graceMs) {
      stopping = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      await current.stop(graceMs);
    },
  };
}

function describeExit(run: RunningService, code: number): string {
  const signal = run.child.signalCode;
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

/** The status /readyz answers, or 0 when nothing answers (not up yet, or between runs). */
async function readyzStatus(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

/**
 * A service's ops port (/healthz, /readyz, /metrics): `<NAME>_OPS_PORT` where the service keeps
 * ops apart from its public listener (kafidx), else `<NAME>_PORT`.
 */
export function opsPort(name: string, env: Readonly<Record<string, string | undefined>>): number | undefined {
  const prefix = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const raw = env[`${prefix}_OPS_PORT`] ?? env[`${prefix}_PORT`];
  const port = Number(raw);
  return raw !== undefined && Number.isInteger(port) && port > 0 ? port : undefined;
}
