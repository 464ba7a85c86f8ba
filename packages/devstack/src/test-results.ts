import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Adds up the TAP summaries (`# pass N`, `# fail N`, ...) that each workspace's test run
 * wrote, so one run prints one total whatever turbo interleaved before it.
 */
export function summarizeTapResults(
  dir: string,
): { passed: number; failed: number; skipped: number; line: string; failures: string[] } | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.tap'));
  if (files.length === 0) return undefined;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures: string[] = [];
  for (const file of files.sort()) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    failures.push(...failedTests(text).map((f) => `${path.basename(file, '.tap')}: ${f}`));
    passed += count(text, 'pass');
    failed += count(text, 'fail') + count(text, 'cancelled');
    skipped += count(text, 'skipped') + count(text, 'todo');
  }
  const line = `tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
  return { passed, failed, skipped, line, failures };
}

/**
 * One line per test that failed, timed out or was cancelled (not the suites around it): its
 * name, where it is and the start of its error, so the end of a long run says which.
 */
export function failedTests(tap: string): string[] {
  const lines = tap.split('\n');
  const failures: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i] ?? '');
    if (!head) continue;
    const indent = `${head[1] ?? ''}  `;
    const fields = new Map<string, string>();
    for (let j = i + 1; j < lines.length && lines[j] !== `${indent}...`; j++) {
      const field = new RegExp(`^${indent}(\\w+): (.*)$`).exec(lines[j] ?? '');
      if (!field) continue;
      const [, key = '', value = ''] = field;
      fields.set(key, /^[|>]-?$/.test(value) ? blockText(lines, j + 1, indent) : value.replace(/^'(.*)'$/, '$1'));
    }
    if (fields.get('failureType') === 'subtestsFailed') continue;
    const location = (fields.get('location') ?? '').replace(/^.*?\/((?:services|packages)\/)/, '$1');
    const error = fields.get('error') ?? fields.get('failureType') ?? '';
    failures.push(`${head[2] ?? ''}${location ? ` (${location})` : ''}${error ? `: ${error.slice(0, 300)}` : ''}`);
  }
  return failures;
}

/**
 * A block scalar's (|- or >-) text: its lines, more indented than its key, trimmed and joined
 * with " / " (no empty ones), so an error whose reason is on its second line still shows it.
 */
function blockText(lines: readonly string[], from: number, indent: string): string {
  const parts: string[] = [];
  let length = 0;
  for (let j = from; j < lines.length && length < 300; j++) {
    const line = lines[j] ?? '';
    if (line.trim() !== '' && !line.startsWith(`${indent} `)) break;
    if (line.trim() === '') continue;
    parts.push(line.trim());
    length += line.length;
  }
  return parts.join(' / ');
}

function count(tap: string, key: string): number {
  // The summary lines are the last occurrence of `# <key> N` in the file.
  const matches = [...tap.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
  const last = matches[matches.length - 1];
  return last ? Number(last[1]) : 0;
}

interface Count {
  readonly total: number;
  readonly covered: number;
}

interface WorkspaceCoverage {
  readonly workspace: string;
  readonly lines: Count;
  readonly branches: Count;
  readonly functions: Count;
  readonly filesLoaded: number;
  readonly sourceFiles: number;
}

/**
 * One table of each workspace's src/ coverage (the `<workspace>.coverage.json` files that
 * scripts/test-reporters/spec.mjs wrote) and the total, for the end of `npm test`.
 */
export function summarizeCoverage(dir: string): { workspaces: number; text: string } | undefined {
  if (!existsSync(dir)) return undefined;
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith('.coverage.json'))
    .sort()
    .flatMap((f) => readCoverage(path.join(dir, f)) ?? []);
  if (rows.length === 0) return undefined;
  const sum = (key: 'lines' | 'branches' | 'functions'): Count => ({
    total: rows.reduce((n, r) => n + r[key].total, 0),
    covered: rows.reduce((n, r) => n + r[key].covered, 0),
  });
  const all: WorkspaceCoverage = {
    workspace: 'all',
    lines: sum('lines'),
    branches: sum('branches'),
    functions: sum('functions'),
    filesLoaded: rows.reduce((n, r) => n + r.filesLoaded, 0),
    sourceFiles: rows.reduce((n, r) => n + r.sourceFiles, 0),
  };
  const table = [['workspace', 'lines', 'branches', 'functions', 'src files loaded'], ...[...rows, all].map(cells)];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const text = [
    'coverage of src/ by the tests (comments and type-only lines not counted):',
    ...table.map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    ),
  ].join('\n');
  return { workspaces: rows.length, text };
}

function cells(row: WorkspaceCoverage): string[] {
  return [
    row.workspace,
    percent(row.lines),
    percent(row.branches),
    percent(row.functions),
    `${row.filesLoaded}/${row.sourceFiles}`,
  ];
}

function percent(count: Count): string {
  return count.total === 0 ? '-' : `${((100 * count.covered) / count.total).toFixed(1)} %`;
}

/** A workspace whose test run ended before Node reported coverage left an empty file: no row. */
function readCoverage(file: string): WorkspaceCoverage | undefined {
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return undefined;
  const json = JSON.parse(text) as {
    workspace: string;
    totals: { lines: Count; branches: Count; functions: Count };
    files: unknown[];
    sourceFiles: number;
  };
  return {
    workspace: json.workspace,
    lines: json.totals.lines,
    branches: json.totals.branches,
    functions: json.totals.functions,
    filesLoaded: json.files.length,
    sourceFiles: json.sourceFiles,
  };
}
