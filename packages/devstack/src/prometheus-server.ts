import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startProcess, waitFor, type ManagedProcess } from './child-process.js';
import { requireCommand } from './commands.js';
import { forgetProcesses, recordProcesses, stopLeftovers } from './leftovers.js';
import { tail } from './redis-server.js';

/** One scrape job: a `job` label and the host:port addresses whose /metrics it reads. */
export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly string[];
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> (the UI, and the HTTP API under /api/v1). */
  readonly url: string;
  readonly port: number;
  readonly configFile: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  port: number;
  /** Its folder: prometheus.yml, prometheus.log and the TSDB under data/. */
  dir: string;
  jobs: readonly ScrapeJob[];
  /** Rule files (alerts) to load; a missing file is left out. */
  ruleFiles?: readonly string[];
  scrapeIntervalSeconds: number;
  startTimeoutMs?: number;
  /** Where to look for the binary (default: PATH). */
  pathVar?: string;
}

/**
 * prometheus.yml for the local pipeline. Strings are written as JSON strings, which YAML reads
 * as double-quoted scalars, so no path or name needs its own quoting rules.
 */
export function prometheusConfig(options: {
  jobs: readonly ScrapeJob[];
  ruleFiles: readonly string[];
  scrapeIntervalSeconds: number;
}): string {
  const s = JSON.stringify;
  const interval = `${options.scrapeIntervalSeconds}s`;
  const lines = [
    '# Written by the devstack at every start (npm start): edit the DEVSTACK_PROMETHEUS_* settings instead.',
    'global:',
    `  scrape_interval: ${interval}`,
    // Rules are evaluated as often as samples arrive: an alert's `for` counts in real time.
    `  evaluation_interval: ${interval}`,
    // A scrape must end before the next one starts.
    `  scrape_timeout: ${Math.min(10, options.scrapeIntervalSeconds)}s`,
    ...(options.ruleFiles.length > 0 ? ['rule_files:', ...options.ruleFiles.map((f) => `  - ${s(f)}`)] : []),
    'scrape_configs:',
    ...options.jobs.flatMap((j) => [
      `  - job_name: ${s(j.job)}`,
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: [${j.targets.map((t) => s(t)).join(', ')}]`,
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A local Prometheus (Debian's `prometheus` package) on loopback that scrapes the given jobs.
 * Its data stays in `dir` between runs, capped (3 days, 512 MB): a developer's laptop, not a
 * monitoring system.
 */
export async function startPrometheusServer(options: PrometheusOptions): Promise<PrometheusServer> {
  const binary = requireCommand('prometheus', options.pathVar);
  mkdirSync(path.join(options.dir, 'data'), { recursive: true });
  const configFile = path.join(options.dir, 'prometheus.yml');
  const logFile = path.join(options.dir, 'prometheus.log');
  writeFileSync(
    configFile,
    prometheusConfig({
      jobs: options.jobs,
      ruleFiles: (options.ruleFiles ?? []).filter((f) => existsSync(f)),
      scrapeIntervalSeconds: options.scrapeIntervalSeconds,
    }),
  );
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(options.dir, 'data')}`,
    '--storage.tsdb.retention.time=3d',
    '--storage.tsdb.retention.size=512MB',
    `--web.listen-address=127.0.0.1:${options.port}`,
    `--web.external-url=http://127.0.0.1:${options.port}/`,
    '--log.level=warn',
  ];
  const proc = startProcess({ name: 'prometheus', command: binary, args, logFile, cwd: options.dir });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitFor('prometheus', () => readyStatus(url), {
      timeoutMs: options.startTimeoutMs ?? 30_000,
      intervalMs: 100,
      abortIf: () => (proc.hasExited ? `exited during start-up; last log lines:\n${tail(logFile)}` : undefined),
    });
  } catch (error: unknown) {
    await proc.stop(5_000);
    throw error;
  }
  return { url, port: options.port, configFile, process: proc, stop: () => proc.stop(10_000) };
}

/** true once /-/ready answers 200 (the TSDB is open and the config loaded). */
async function readyStatus(url: string): Promise<true | undefined> {
  try {
    const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok ? true : undefined;
  } catch {
    return undefined;
  }
}

/** The scrape job of a service: `pushtech-<service>`, the names monitoring/alerts.yml expects. */
export function scrapeJobName(service: string): string {
  return `pushtech-${service}`;
}

/**
 * The local Prometheus of `npm start`: in `<stateDir>/prometheus`, its pid recorded there so a
 * killed devstack's Prometheus is stopped by the next run. It is a viewer, never a part of the
 * pipeline: when it cannot start (no binary, a bad rules file) the reason is logged and the
 * pipeline runs without it.
 */
export async function startLocalPrometheus(
  options: Omit<PrometheusOptions, 'dir'> & { stateDir: string; log: (line: string) => void },
): Promise<PrometheusServer | undefined> {
  const dir = path.join(options.stateDir, 'prometheus');
  mkdirSync(dir, { recursive: true });
  try {
    await stopLeftovers(dir, options.log);
    const server = await startPrometheusServer({ ...options, dir });
    recordProcesses(dir, [{ name: 'prometheus', pid: server.process.pid }]);
    let stopping = false;
    void server.process.exited.then((code) => {
      if (!stopping)
        options.log(
          `Prometheus exited unexpectedly (${code}); the pipeline runs on without it (log ${server.process.logFile})`,
        );
    });
    return {
      ...server,
      stop: async () => {
        stopping = true;
        await server.stop();
        forgetProcesses(dir);
      },
    };
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    options.log(`Prometheus not started: ${reason}`);
    return undefined;
  }
}
