import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { k8sTools } from './k8s-tools.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const chartDir = path.join(repoRoot, 'helm', 'pushtech');

/** The rendered layouts are made with a fixed release name and namespace, so they are reproducible. */
export const RELEASE = 'pushtech';
export const NAMESPACE = 'pushtech';

export type Topology = 'separate' | 'sidecar';

export interface Layout {
  readonly topology: Topology;
  /** Where the rendered manifests live, e.g. <repo>/kubernetes. */
  readonly dir: string;
  /** The values the layout is rendered with (next to the chart, under ci/). */
  readonly valuesFile: string;
}

export const layouts: readonly Layout[] = [
  {
    topology: 'separate',
    dir: path.join(repoRoot, 'kubernetes'),
    valuesFile: path.join(chartDir, 'ci', 'separate-values.yaml'),
  },
  {
    topology: 'sidecar',
    dir: path.join(repoRoot, 'kubernetes.two'),
    valuesFile: path.join(chartDir, 'ci', 'sidecar-values.yaml'),
  },
];

export interface HelmRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class HelmError extends Error {
  override readonly name = 'HelmError';

  constructor(
    readonly args: readonly string[],
    readonly result: HelmRun,
  ) {
    super(`helm ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/**
 * Runs helm with HOME and its XDG folders in a throw-away directory: it never reads or writes
 * the user's helm config, repositories, cache or kubeconfig.
 */
export function runHelm(args: readonly string[]): HelmRun {
  const { helm } = k8sTools();
  const home = mkdtempSync(path.join(tmpdir(), 'pushtech-helm-'));
  try {
    const result = spawnSync(helm, [...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CACHE_HOME: path.join(home, 'cache'),
        XDG_CONFIG_HOME: path.join(home, 'config'),
        XDG_DATA_HOME: path.join(home, 'data'),
        KUBECONFIG: path.join(home, 'kubeconfig'),
      },
    });
    if (result.error) throw result.error;
    return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export interface ChartValues {
  /** Values files, applied in order. */
  readonly files?: readonly string[];
  /** `--set-json key=<json>` pairs, applied after the files. */
  readonly set?: Readonly<Record<string, unknown>>;
}

function valueArgs(values: ChartValues): string[] {
  const args: string[] = [];
  for (const file of values.files ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(values.set ?? {}))
    args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  return args;
}

/** `helm template`: the chart's objects as YAML text, or a HelmError naming what was refused. */
export function helmTemplate(values: ChartValues = {}): string {
  const args = ['template', RELEASE, chartDir, '--namespace', NAMESPACE, ...valueArgs(values)];
  const result = runHelm(args);
  if (result.code !== 0) throw new HelmError(args, result);
  return result.stdout;
}

export function helmLint(values: ChartValues = {}): HelmRun {
  return runHelm(['lint', chartDir, '--strict', '--namespace', NAMESPACE, ...valueArgs(values)]);
}

/** `helm install --dry-run=client`: renders everything, NOTES.txt included, without a cluster. */
export function helmInstallDryRun(values: ChartValues = {}): string {
  const args = ['install', RELEASE, chartDir, '--namespace', NAMESPACE, '--dry-run=client', ...valueArgs(values)];
  const result = runHelm(args);
  if (result.code !== 0) throw new HelmError(args, result);
  return result.stdout;
}
