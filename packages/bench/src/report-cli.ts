/**
 * `node packages/bench/src/report-cli.ts [--results DIR] [--out FILE] [--charts DIR]`: reads every
 * benchmark result in the results folder (default $PUSHTECH_BENCH_RESULTS or .bench-results) and
 * writes docs/BENCHMARKS.md plus its charts (docs/bench/*.svg), keeping the hand-written part at
 * the end of the previous docs/BENCHMARKS.md (HAND_WRITTEN_MARKER). `npm run bench` runs it last.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildReport, keepHandWritten } from './report.js';
import { parseSummary, SummaryError, type BenchSummary } from './summary.js';

const fail = (line: string): void => void process.stderr.write(`${line}\n`);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${os.availableParallelism()} x ${cpu}, ${gib} GiB, Linux ${os.release()}, Node.js ${process.version}`;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      results: {
        type: 'string',
        default: process.env['PUSHTECH_BENCH_RESULTS'] ?? path.join(repoRoot, '.bench-results'),
      },
      out: { type: 'string', default: path.join(repoRoot, 'docs/BENCHMARKS.md') },
      charts: { type: 'string', default: path.join(repoRoot, 'docs/bench') },
    },
  });
  const dir = path.resolve(values.results);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    fail(`bench report: no results folder at ${dir}; run the benchmarks first (npm run bench)`);
    return 1;
  }
  if (files.length === 0) {
    fail(`bench report: ${dir} holds no *.json results; run the benchmarks first (npm run bench)`);
    return 1;
  }
  const summaries: BenchSummary[] = [];
  let newest = 0;
  for (const file of files.sort()) {
    const full = path.join(dir, file);
    newest = Math.max(newest, statSync(full).mtimeMs);
    try {
      summaries.push(parseSummary(file, JSON.parse(readFileSync(full, 'utf8'))));
    } catch (error: unknown) {
      const why = error instanceof SummaryError ? error.message : `${file}: ${String(error)}`;
      fail(`bench report: ${why}`);
      return 1;
    }
  }
  const out = path.resolve(values.out);
  const chartDir = path.resolve(values.charts);
  const report = buildReport(summaries, {
    date: new Date(newest).toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: machine(),
    chartDir: path.relative(path.dirname(out), chartDir).split(path.sep).join('/') || '.',
  });
  // Charts of benchmarks that no longer exist must not linger beside the new ones.
  rmSync(chartDir, { recursive: true, force: true });
  mkdirSync(chartDir, { recursive: true });
  for (const [name, svg] of report.charts) writeFileSync(path.join(chartDir, name), svg);
  mkdirSync(path.dirname(out), { recursive: true });
  // Ranges over several runs and the history of a number are written by hand below a marker.
  writeFileSync(out, keepHandWritten(report.markdown, existsSync(out) ? readFileSync(out, 'utf8') : undefined));
  process.stdout.write(
    `bench report: ${summaries.length} benchmarks -> ${path.relative(process.cwd(), out)}, ${report.charts.size} charts in ${path.relative(process.cwd(), chartDir)}\n`,
  );
  return 0;
}

process.exitCode = main();
