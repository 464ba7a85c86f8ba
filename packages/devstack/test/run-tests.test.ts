/**
 * scripts/run-tests.mjs, which runs a workspace's tests: it finds them in test/ (and refuses one
 * left in src/), measures coverage with Node's own, keeps the workspace's src/ of it (comments and
 * type-only lines left out), and the root command adds the workspaces up into one table.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { repoRoot } from '../src/paths.js';
import { summarizeCoverage } from '../src/test-results.js';

const runTests = path.join(repoRoot, 'scripts', 'run-tests.mjs');

/** A workspace of one module, half of whose functions its test calls, and a module no test loads. */
const fixture: Record<string, string> = {
  'src/shapes.ts': [
    '/**',
    ' * A doc comment: no code.',
    ' */',
    "import { readFileSync } from 'node:fs';",
    '',
    'export interface Shape {',
    '  sides: number;',
    '}',
    '',
    'const NAMES = new Map([[3, "triangle"]]);',
    '',
    'export type Name = string;',
    '',
    'export function nameOf(shape: Shape): Name {',
    '  if (shape.sides === 3) {',
    '    return NAMES.get(3) ?? "";',
    '  }',
    "  return 'polygon';",
    '}',
    '',
    'export function fromFile(file: string): Shape {',
    "  return { sides: Number(readFileSync(file, 'utf8')) };",
    '}',
    '',
  ].join('\n'),
  'src/never-loaded.ts': 'export const unused = 1;\n',
  'test/shapes.test.ts': [
    "import assert from 'node:assert/strict';",
    "import { it } from 'node:test';",
    "import { nameOf } from '../src/shapes.js';",
    '',
    "it('names a triangle', () => {",
    "  assert.equal(nameOf({ sides: 3 }), 'triangle');",
    '});',
    '',
  ].join('\n'),
};

function makeWorkspace(t: TestContext): { dir: string; results: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'coverage-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'fixture');
  for (const [file, text] of Object.entries(fixture)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  // tsx is found through the repository's node_modules, as from a workspace folder.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, results: path.join(root, 'results') };
}

function run(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // A run of its own: not a subtest of this file's run, nor writing into its coverage folder,
  // nor told by the root run (npm test sets these for every workspace) what to measure. Node
  // passes NODE_V8_COVERAGE on to a child whose env leaves it out, and a test runner started
  // with it copies its coverage files there at the end: here, a folder beside the fixture's.
  const {
    NODE_TEST_CONTEXT: _context,
    NODE_V8_COVERAGE: _coverage,
    PUSHTECH_TEST_RESULTS: _results,
    PUSHTECH_TEST_COVERAGE: _measure,
    ...rest
  } = process.env;
  const child = spawn(process.execPath, [runTests], {
    cwd,
    env: { ...rest, NODE_V8_COVERAGE: path.join(cwd, '..', 'v8-coverage'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('run-tests', () => {
  it('reports the src/ lines, branches and functions the tests ran, without comments or types', async (t) => {
    const { dir, results } = makeWorkspace(t);
    const { code, stdout } = await run(dir, { PUSHTECH_TEST_RESULTS: results });
    assert.equal(code, 0, stdout);
    assert.match(stdout, /^ℹ pass 1$/m);
    // Code lines: the import, NAMES, nameOf (6 lines, all run) and fromFile (3, none run).
    assert.match(
      stdout,
      /^coverage of src\/: lines 72\.7 %, branches \d+\.\d %, functions 50\.0 % \(1 of 2 files loaded by a test\)$/m,
    );
    assert.doesNotMatch(stdout, /start of coverage report|shapes\.test\.ts/, "not Node's whole table");
    const json = JSON.parse(readFileSync(path.join(results, 'fixture.coverage.json'), 'utf8')) as {
      files: { path: string; lines: unknown; functions: unknown }[];
      sourceFiles: number;
    };
    assert.deepEqual(
      json.files.map((f) => [f.path, f.lines, f.functions]),
      [['src/shapes.ts', { total: 11, covered: 8 }, { total: 2, covered: 1 }]],
    );
    assert.equal(json.sourceFiles, 2);

    const summary = summarizeCoverage(results);
    assert.equal(summary?.workspaces, 1);
    assert.match(summary?.text ?? '', /^fixture +72\.7 % +\d+\.\d % +50\.0 % +1\/2$/m);
    assert.match(summary?.text ?? '', /^all +72\.7 % +\d+\.\d % +50\.0 % +1\/2$/m);
  });

  it('measures only under the root run, or when PUSHTECH_TEST_COVERAGE says so', async (t) => {
    const { dir, results } = makeWorkspace(t);
    const cases: [string, NodeJS.ProcessEnv, boolean][] = [
      ['a workspace run', {}, false],
      ['a workspace run asking for it', { PUSHTECH_TEST_COVERAGE: '1' }, true],
      ['the root run told not to', { PUSHTECH_TEST_RESULTS: results, PUSHTECH_TEST_COVERAGE: '0' }, false],
    ];
    for (const [what, env, measured] of cases) {
      const { code, stdout } = await run(dir, env);
      assert.equal(code, 0, stdout);
      assert.match(stdout, /^ℹ pass 1$/m, what);
      assert.equal(/^coverage of src\/: lines 72\.7 %/m.test(stdout), measured, what);
    }
    assert.equal(summarizeCoverage(results), undefined);
  });

  it('passes a run whose tests all passed when a killed child left a coverage file cut short', async (t) => {
    // As a service a test SIGKILLs while it writes its coverage on exit: Node then cannot read
    // the coverage folder and exits 1, though no test failed.
    const cutShort = (passes: boolean): string =>
      [
        "import assert from 'node:assert/strict';",
        "import { writeFileSync } from 'node:fs';",
        "import path from 'node:path';",
        "import { it } from 'node:test';",
        '',
        "it('leaves a truncated coverage file', () => {",
        "  const dir = process.env['NODE_V8_COVERAGE'] ?? '';",
        '  const name = `coverage-${process.pid}-${Date.now()}-9.json`; // the name V8 gives it',
        '  writeFileSync(path.join(dir, name), \'{"result":[{"url":"file:///x\');',
        `  assert.ok(${String(passes)});`,
        '});',
        '',
      ].join('\n');
    const { dir, results } = makeWorkspace(t);
    writeFileSync(path.join(dir, 'test', 'killed-child.test.ts'), cutShort(true));
    const passed = await run(dir, { PUSHTECH_TEST_RESULTS: results });
    assert.match(passed.stdout, /Could not report code coverage/, 'Node did fail the coverage report');
    assert.equal(passed.code, 0, passed.stdout);
    assert.match(passed.stdout, /^ℹ pass 2$/m);
    assert.match(passed.stdout, /^run-tests: every test passed; no coverage figures for this workspace \(/m);
    assert.equal(summarizeCoverage(results), undefined, 'no figures made up');

    // Control: a failed test still fails the run, coverage report or not.
    writeFileSync(path.join(dir, 'test', 'killed-child.test.ts'), cutShort(false));
    const failed = await run(dir, { PUSHTECH_TEST_RESULTS: results });
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stdout, /^ℹ fail 1$/m);
    assert.doesNotMatch(failed.stdout, /every test passed/);
  });

  it('refuses a test file left in src/, which it would not run', async (t) => {
    const { dir, results } = makeWorkspace(t);
    writeFileSync(path.join(dir, 'src', 'shapes.test.ts'), "import { it } from 'node:test';\nit('x', () => {});\n");
    const { code, stdout, stderr } = await run(dir, { PUSHTECH_TEST_RESULTS: results });
    assert.equal(code, 1, stdout);
    assert.match(
      stderr,
      /^run-tests: tests belong in test\/ \(mirroring src\/\), not src\/: move src\/shapes\.test\.ts$/m,
    );
  });
});
