#!/usr/bin/env node
// Runs one workspace's tests with Node's own test runner (TypeScript through tsx).
// Used as `"test": "node ../../scripts/run-tests.mjs"` from a workspace folder; extra arguments
// are passed to `node --test` (e.g. `--test-name-pattern=...`).
// Node 20 has no glob support in `--test`, so this script finds the files itself.
// Under the root `npm test` (PUSHTECH_TEST_RESULTS set) it also measures the coverage of the
// workspace's src/ (Node's own V8 coverage) and prints it as one line; it costs CPU (ops: 48 s ->
// 66 s), so a workspace's own run leaves it out unless PUSHTECH_TEST_COVERAGE=1, and
// PUSHTECH_TEST_COVERAGE=0 leaves it out of the root run too.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cwd = process.cwd();
const scriptsDir = path.dirname(fileURLToPath(import.meta.url));
const testDir = path.join(cwd, 'test');

/** @param {string} dir @returns {string[]} */
function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

// Tests live in test/, mirroring src/ (one layout in every workspace); one left in src/ would
// not run, so it stops the run instead.
const misplaced = findTests(path.join(cwd, 'src'));
if (misplaced.length > 0) {
  const names = misplaced.map((f) => path.relative(cwd, f)).join(', ');
  console.error(`run-tests: tests belong in test/ (mirroring src/), not src/: move ${names}`);
  process.exit(1);
}
const files = findTests(testDir).sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files under ${path.basename(cwd)}/test`);
  process.exit(1);
}

// A TAP copy of the results (and the coverage JSON) lets the root test command print one total
// for the whole run.
const resultsDir = process.env.PUSHTECH_TEST_RESULTS;
const coverage = process.env.PUSHTECH_TEST_COVERAGE ? process.env.PUSHTECH_TEST_COVERAGE !== '0' : Boolean(resultsDir);
// Node's spec reporter, but with one line of src/ coverage (and its JSON, see the reporter).
const spec = pathToFileURL(path.join(scriptsDir, 'test-reporters', 'spec.mjs')).href;
const reporters = [`--test-reporter=${spec}`, '--test-reporter-destination=stdout'];
if (resultsDir) {
  mkdirSync(resultsDir, { recursive: true });
  const name = path.basename(cwd);
  reporters.push('--test-reporter=tap', `--test-reporter-destination=${path.join(resultsDir, `${name}.tap`)}`);
}

// Node exits 1 when it cannot read the coverage files, also when every test passed. That
// happens when a test SIGKILLs a service it spawned (which inherits NODE_V8_COVERAGE) while the
// service writes its coverage file on exit: the truncated JSON fails the whole report (seen in
// CI: kafkastore, 159 of 159 passed, "Unterminated string in JSON at position 2097142"). The
// spec reporter writes the outcome (PUSHTECH_TEST_OUTCOME), which tells that apart from a failed
// test; such a run passes, says why, and has no coverage figures.
const outcomeDir = coverage ? mkdtempSync(path.join(tmpdir(), 'pushtech-test-outcome-')) : undefined;
const outcomeFile = outcomeDir && path.join(outcomeDir, 'outcome.json');

/** @param {number} code @returns {number} */
function exitCode(code) {
  if (code !== 1 || !outcomeFile || !existsSync(outcomeFile)) return code;
  const { failed, coverageError } = JSON.parse(readFileSync(outcomeFile, 'utf8') || '{}');
  if (failed !== 0 || !coverageError) return code;
  console.log(
    `run-tests: every test passed; no coverage figures for this workspace (${coverageError.replace(/^Warning: /, '')}: ` +
      'a process a test killed while it wrote its coverage file)',
  );
  return 0;
}

const args = [
  '--conditions=development',
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  ...(coverage ? ['--experimental-test-coverage'] : []),
  ...reporters,
  ...process.argv.slice(2),
  ...files,
];
// Only this run's reporter writes the outcome: not one a test of it runs in turn.
const env = { ...process.env };
delete env.PUSHTECH_TEST_OUTCOME;
if (outcomeFile) env.PUSHTECH_TEST_OUTCOME = outcomeFile;
const child = spawn(process.execPath, args, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  const result = code === null ? (signal ? 1 : 0) : exitCode(code);
  if (outcomeDir) rmSync(outcomeDir, { recursive: true, force: true });
  process.exit(result);
});
