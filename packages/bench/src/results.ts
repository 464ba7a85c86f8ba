/** Where and how every benchmark writes its JSON result, which the report (report-cli) reads. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@pushtech/devstack';
import { parseSummary } from './summary.js';

/** $PUSHTECH_BENCH_RESULTS, or `.bench-results` at the repository root. */
export function resultsDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.resolve(env['PUSHTECH_BENCH_RESULTS'] ?? path.join(repoRoot, '.bench-results'));
}

/**
 * Writes `<resultsDir>/<name>.json` and returns its path. The result must hold the `summary` the
 * report reads (see summary.ts): a bench without one fails here, at its own end, not the report
 * of every bench after it.
 */
export function writeResult(name: string, result: unknown): string {
  parseSummary(`${name}.json`, result);
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** The machine a result was measured on, as the results record it. */
export function machineInfo(): { cpus: number; node: string } {
  return { cpus: os.availableParallelism(), node: process.version };
}
