import { availableParallelism, cpus, totalmem } from 'node:os';
import type { LossControlResult } from './loss-control.js';
import type { ScenarioName, ScenarioResult } from './scenario.js';

export interface ScenarioError {
  readonly scenario: ScenarioName;
  readonly error: string;
}

export interface ChaosReport {
  readonly date: string;
  readonly machine: { readonly cpus: number; readonly cpu: string; readonly memoryGiB: number; readonly node: string };
  readonly options: Readonly<Record<string, number | string>>;
  readonly control: LossControlResult | { readonly error: string } | null;
  readonly scenarios: readonly ScenarioResult[];
  readonly errors: readonly ScenarioError[];
  readonly passed: boolean;
  /** The shape every benchmark result carries, for the combined report (docs/BENCHMARKS.md). */
  readonly summary: {
    readonly bench: 'chaos';
    readonly title: string;
    readonly rows: readonly { name: string; metric: string; value: number }[];
    readonly goals: readonly { goal: string; value: string; met: boolean }[];
    readonly notes: readonly string[];
  };
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
const count = (n: number): string => n.toLocaleString('en-US');

/** "worst / median" of the recoveries, or what stands in for them. */
export function recoveryCell(result: ScenarioResult): string {
  if (result.recovery)
    return `${formatDuration(result.recovery.worstMs)} / ${formatDuration(result.recovery.medianMs)}`;
  const drain = result.evidence['drainMs'];
  if (drain !== undefined) return `n/a (drained in ${formatDuration(drain)})`;
  return '-';
}

/** One row per scenario: the numbers the issue asks for, then whether it passed. */
export function formatTable(results: readonly ScenarioResult[], errors: readonly ScenarioError[] = []): string {
  const header = [
    'scenario',
    'acknowledged',
    'delivered',
    'lost',
    'duplicated',
    'faults',
    'recover worst / median',
    'result',
  ];
  const rows = results.map((r) => [
    r.scenario,
    count(r.audit.acknowledged),
    count(r.audit.delivered),
    count(r.audit.lost),
    count(r.audit.duplicated),
    String(r.faults.length),
    recoveryCell(r),
    r.passed ? 'pass' : 'FAIL',
  ]);
  for (const e of errors) rows.push([e.scenario, '-', '-', '-', '-', '-', '-', 'ERROR']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 || i >= 6 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  return out.join('\n');
}

/** Below the table: per scenario what proves the fault happened, and every failed check. */
export function formatDetails(results: readonly ScenarioResult[], errors: readonly ScenarioError[] = []): string {
  const lines: string[] = [];
  for (const r of results) {
    const evidence = Object.entries(r.evidence)
      .map(([k, v]) => `${k} ${count(v)}`)
      .join(', ');
    lines.push(
      `${r.scenario}: ${evidence}; load ${count(r.load.scheduled)} sent, ${count(r.load.refused)} refused, ${count(r.load.failed)} failed`,
    );
    for (const c of r.checks) if (!c.ok) lines.push(`  FAILED ${c.name}: ${c.detail}`);
    for (const [process, output] of Object.entries(r.lossClues?.output ?? {})) {
      lines.push(`  last output of ${process}:`, ...output.split('\n').map((line) => `    ${line}`));
    }
  }
  for (const e of errors) lines.push(`${e.scenario}: ERROR ${e.error}`);
  return lines.join('\n');
}

export function buildReport(input: {
  options: Readonly<Record<string, number | string>>;
  control: ChaosReport['control'];
  scenarios: readonly ScenarioResult[];
  errors: readonly ScenarioError[];
}): ChaosReport {
  const controlOk = input.control !== null && 'detected' in input.control && input.control.detected;
  const passed =
    input.errors.length === 0 &&
    input.scenarios.length > 0 &&
    input.scenarios.every((s) => s.passed) &&
    (input.control === null || controlOk);
  const rows = [
    // Always one row, also when every scenario failed to run: the combined report needs one.
    { name: 'chaos suite', metric: 'scenarios passed', value: input.scenarios.filter((s) => s.passed).length },
    ...input.scenarios.flatMap((s) => [
      { name: s.scenario, metric: 'acknowledged events', value: s.audit.acknowledged },
      { name: s.scenario, metric: 'events lost', value: s.audit.lost },
      { name: s.scenario, metric: 'duplicates', value: s.audit.duplicated },
      ...(s.recovery
        ? [{ name: s.scenario, metric: 'time to recover, worst (s)', value: s.recovery.worstMs / 1000 }]
        : []),
    ]),
  ];
  const goals = [
    ...input.scenarios.map((s) => ({
      goal: `${s.scenario}: no acknowledged event lost`,
      value: `${s.audit.lost} of ${s.audit.acknowledged} lost`,
      met: s.audit.lost === 0,
    })),
    ...input.errors.map((e) => ({
      goal: `${e.scenario}: no acknowledged event lost`,
      value: `error: ${e.error}`,
      met: false,
    })),
    ...(input.control === null
      ? []
      : [
          {
            goal: 'the audit detects a loss (events deleted from Redis)',
            value:
              'detected' in input.control
                ? `${input.control.audit.lost} reported lost of ${input.control.removed.length} deleted`
                : `error: ${input.control.error}`,
            met: controlOk,
          },
        ]),
  ];
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: availableParallelism(),
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    options: input.options,
    control: input.control,
    scenarios: input.scenarios,
    errors: input.errors,
    passed,
    summary: {
      bench: 'chaos',
      title: 'Chaos suite: faults under load',
      rows,
      goals,
      notes: [
        'acknowledged: events the tracker answered 2xx; delivered: of those, found in Kafka; lost = acknowledged - delivered; duplicated: extra copies in Kafka.',
        'time to recover: from the end of a fault (process restarted, broker or Redis answering again) until the first event acknowledged after it was appended to Kafka (LogAppendTime).',
        ...input.scenarios.map((s) => `${s.scenario}: ${s.description}`),
      ],
    },
  };
}
