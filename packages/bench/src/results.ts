/** Where and how every benchmark writes its JSON result, which the report (report-cli) reads. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@pushtech/devstack';

/** $PUSHTECH_BENCH_RESULTS, or `.bench-results` at the repository root. */
export function resultsDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.resolve(env['PUSHTECH_BENCH_RESULTS'] ?? path.join(repoRoot, '.bench-results'));
}

/** Writes `<resultsDir>/<name>.json` and returns its path. */
export function writeResult(name: string, result: unknown): string {
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
