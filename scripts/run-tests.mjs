#!/usr/bin/env node
// Runs one workspace's tests with Node's own test runner (TypeScript through tsx).
// Used as `"test": "node ../../scripts/run-tests.mjs"` from a workspace folder; extra arguments
// are passed to `node --test` (e.g. `--test-name-pattern=...`).
// Node 20 has no glob support in `--test`, so this script finds the files itself.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const cwd = process.cwd();
const roots = ['src', 'test'].map((d) => path.join(cwd, d)).filter((d) => existsSync(d));

/** @param {string} dir @returns {string[]} */
function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = roots.flatMap(findTests).sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files under ${path.relative(process.cwd(), cwd) || '.'}/{src,test}`);
  process.exit(1);
}

// A TAP copy of the results lets the root test command print one total for the whole run.
const resultsDir = process.env.PUSHTECH_TEST_RESULTS;
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
if (resultsDir) {
  mkdirSync(resultsDir, { recursive: true });
  const name = path.basename(cwd);
  reporters.push('--test-reporter=tap', `--test-reporter-destination=${path.join(resultsDir, `${name}.tap`)}`);
}

const args = [
  '--conditions=development',
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  ...reporters,
  ...process.argv.slice(2),
  ...files,
];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
