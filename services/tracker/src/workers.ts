import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import {
  AggregatorRegistry,
  Gauge,
  createMetricsRegistry,
  exportReadiness,
  type Logger,
  type MetricObjectWithValues,
  type MetricValue,
  type Probes,
  type Registry,
} from '@pushtech/runtime/core';

export const WORKER_ENV = 'PUSHTECH_TRACKER_WORKER';

/**
 * How long the supervisor waits for each worker's metrics at a scrape; a worker that has not
 * answered by then is left out of that scrape (and counted in
 * pushtech_tracker_metrics_workers_missing). Above a slow Redis's LLEN (2 s command timeout),
 * well below Prometheus's default scrape timeout (10 s).
 */
export const WORKER_METRICS_TIMEOUT_MS = 3_000;

// The fork IPC messages of a scrape: a worker asks the supervisor for everyone's metrics, the
// supervisor asks every live worker for its own, aggregates them and answers the one that asked.
const SCRAPE = 'pushtech:tracker-scrape';
const SCRAPED = 'pushtech:tracker-scraped';
const COLLECT = 'pushtech:tracker-collect';
const COLLECTED = 'pushtech:tracker-collected';

type IpcMessage =
  | { type: typeof SCRAPE; id: number }
  | { type: typeof SCRAPED; id: number; text?: string; error?: string }
  | { type: typeof COLLECT; id: number }
  | { type: typeof COLLECTED; id: number; metrics?: MetricObjectWithValues<MetricValue<string>>[]; error?: string };

function isIpcMessage(message: unknown): message is IpcMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('pushtech:tracker-')
  );
}

/**
 * How metrics made outside this service's own metrics.ts are aggregated across workers (those
 * of tracker's metrics.ts say it themselves; prom-client's process metrics too): readiness is
 * the least of the workers', so `pushtech_ready == 0` fires when any of them is not ready.
 */
const AGGREGATORS: Readonly<Record<string, 'min'>> = {
  pushtech_ready: 'min',
  pushtech_ready_check: 'min',
};

/** After the workers' own budget, this long before the supervisor kills what is left. */
const KILL_GRACE_MS = 2_000;

/**
 * Refuses a port another process listens on already, before workers that share their port are
 * started: with SO_REUSEPORT they would join it (a tracker listening alone refuses them, but
 * one started with workers does not), and the kernel would give them part of its connections.
 * A bind of our own without SO_REUSEPORT fails on any port in use, shared or not.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, resolve);
    });
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `tracker: ${host}:${port} is in use by another process; the workers of a tracker share their port only ` +
          'among themselves (two trackers on one port would split its connections)',
        { cause: error },
      );
    }
    throw error;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Bare-metal mode: N tracker processes share one port (uWebSockets.js listens with
 * SO_REUSEPORT, so the kernel spreads connections; assertPortFree first). A worker that dies is restarted with a
 * growing delay. SIGTERM/SIGINT stop the workers and the supervisor exits once all have: 0 when
 * every worker stopped cleanly, 1 when one did not or had to be killed after
 * `shutdownTimeoutMs` (each worker's own budget) and a short grace. A second signal kills them.
 */
export function superviseWorkers(
  count: number,
  entry: string,
  logger: Logger,
  options: { shutdownTimeoutMs: number; metricsTimeoutMs?: number },
): void {
  const workers = new Map<number, ChildProcess>();
  let stopping = false;
  let failures = 0;
  let uncleanStops = 0;
  const scrapes = superviseScrapes(workers, logger, options.metricsTimeoutMs ?? WORKER_METRICS_TIMEOUT_MS);

  const spawnWorker = (index: number): void => {
    const child = fork(entry, process.argv.slice(2), {
      env: { ...process.env, [WORKER_ENV]: String(index) },
      execArgv: process.execArgv,
      stdio: 'inherit',
      // Structured clone: metric values such as NaN or Infinity cross the channel intact.
      serialization: 'advanced',
    });
    workers.set(index, child);
    child.on('message', (message: unknown) => scrapes.onMessage(child, message));
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      workers.delete(index);
      scrapes.onExit(child);
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

interface Collection {
  /** The workers asked and not answered yet. */
  readonly waiting: Set<ChildProcess>;
  readonly answers: MetricObjectWithValues<MetricValue<string>>[][];
  missing: number;
  finish(): void;
}

/**
 * The supervisor's half of a scrape. A worker's /metrics request asks here; every live worker
 * is asked for `registry.getMetricsAsJSON()`, and the answers that arrive within `timeoutMs`
 * are aggregated by prom-client's AggregatorRegistry (counters and histograms summed, gauges by
 * their `aggregator`), with the supervisor's own gauges, into the text the worker serves. A
 * worker that exits while asked is left out at once; one that does not answer in time, when the
 * time is up: a scrape never waits longer than that.
 */
function superviseScrapes(
  workers: ReadonlyMap<number, ChildProcess>,
  logger: Logger,
  timeoutMs: number,
): { onMessage(child: ChildProcess, message: unknown): void; onExit(child: ChildProcess): void } {
  const collections = new Map<number, Collection>();
  let nextId = 0;

  const send = (child: ChildProcess, message: IpcMessage): boolean => {
    if (!child.connected) return false;
    try {
      // A channel that closes meanwhile: the exit that follows settles what waits for it.
      child.send(message, () => undefined);
      return true;
    } catch {
      return false;
    }
  };

  const collect = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = (nextId += 1);
      const collection: Collection = {
        waiting: new Set(),
        answers: [],
        missing: 0,
        finish: () => {
          clearTimeout(timer);
          collections.delete(id);
          collection.missing += collection.waiting.size;
          if (collection.missing > 0) {
            logger.warn(
              { missing: collection.missing, answered: collection.answers.length },
              'tracker workers left out of a scrape',
            );
          }
          void supervisorMetrics(workers.size, collection.missing)
            .then((mine) => {
              for (const metrics of collection.answers) {
                for (const metric of metrics) {
                  const aggregator = AGGREGATORS[metric.name];
                  if (aggregator) metric.aggregator = aggregator;
                }
              }
              return AggregatorRegistry.aggregate([...collection.answers, mine]).metrics();
            })
            .then(resolve, reject);
        },
      };
      const timer = setTimeout(() => collection.finish(), timeoutMs);
      collections.set(id, collection);
      for (const child of workers.values()) {
        if (send(child, { type: COLLECT, id })) collection.waiting.add(child);
        else collection.missing += 1;
      }
      if (collection.waiting.size === 0) collection.finish();
    });

  return {
    onMessage(child, message) {
      if (!isIpcMessage(message)) return;
      if (message.type === SCRAPE) {
        collect().then(
          (text) => send(child, { type: SCRAPED, id: message.id, text }),
          (error: unknown) => {
            logger.error({ err: error }, "aggregating the workers' metrics failed");
            send(child, { type: SCRAPED, id: message.id, error: String(error) });
          },
        );
      } else if (message.type === COLLECTED) {
        const collection = collections.get(message.id);
        if (!collection?.waiting.delete(child)) return;
        if (message.metrics) collection.answers.push(message.metrics);
        else {
          collection.missing += 1;
          logger.warn({ err: message.error }, 'a tracker worker could not collect its metrics');
        }
        if (collection.waiting.size === 0) collection.finish();
      }
    },
    onExit(child) {
      for (const collection of collections.values()) {
        if (collection.waiting.delete(child)) {
          collection.missing += 1;
          if (collection.waiting.size === 0) collection.finish();
        }
      }
    },
  };
}

/** The supervisor's own gauges, in a registry of one scrape's (concurrent scrapes share none). */
function supervisorMetrics(running: number, missing: number): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  const registry = createMetricsRegistry('tracker', { processMetrics: false });
  new Gauge({
    name: 'pushtech_tracker_workers',
    help: 'Tracker worker processes running under the supervisor (TRACKER_WORKERS)',
    registers: [registry],
  }).set(running);
  new Gauge({
    name: 'pushtech_tracker_metrics_workers_missing',
    help: 'Workers left out of this scrape: no answer within the timeout, or exited while asked',
    registers: [registry],
  }).set(missing);
  return registry.getMetricsAsJSON();
}

/**
 * A worker's half: answers the supervisor's requests for this worker's metrics, and returns what
 * its /metrics serves: the metrics of all workers, aggregated by the supervisor. Without an
 * answer from the supervisor in time (it is stopping, or gone) that is an error (a 503), not
 * this worker's own numbers, which would make the counters jump.
 */
export function workerMetrics(
  registry: Registry,
  probes: Probes,
  timeoutMs = WORKER_METRICS_TIMEOUT_MS + 1_000,
): () => Promise<string> {
  const pending = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  let nextId = 0;
  const send = (message: IpcMessage): boolean => {
    if (!process.connected || !process.send) return false;
    try {
      process.send(message, undefined, {}, () => undefined);
      return true;
    } catch {
      return false;
    }
  };
  process.on('message', (message: unknown) => {
    if (!isIpcMessage(message)) return;
    if (message.type === COLLECT) {
      // The readiness gauges appear on a worker's first ops request: this may be its first.
      exportReadiness(probes, registry);
      registry.getMetricsAsJSON().then(
        (metrics) => send({ type: COLLECTED, id: message.id, metrics }),
        (error: unknown) => send({ type: COLLECTED, id: message.id, error: String(error) }),
      );
    } else if (message.type === SCRAPED) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.text !== undefined) waiter?.resolve(message.text);
      else waiter?.reject(new Error(`the supervisor could not aggregate the metrics: ${message.error ?? '?'}`));
    }
  });
  // A 'message' listener keeps the channel referenced; the worker's life does not depend on it.
  process.channel?.unref();
  return () =>
    new Promise((resolve, reject) => {
      const id = (nextId += 1);
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`no metrics from the supervisor within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = {
        resolve: (text: string) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      pending.set(id, settle);
      if (!send({ type: SCRAPE, id })) {
        pending.delete(id);
        settle.reject(new Error('no supervisor to aggregate the metrics (stopping?)'));
      }
    });
}
