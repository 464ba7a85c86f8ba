// The coverage of a workspace's own src/ files, from the summary of Node's test runner
// (`--experimental-test-coverage`). Node 20 reports every file a test loaded, tests and other
// workspaces included, and maps V8's ranges onto the TypeScript through tsx's source maps, where
// a line with no JavaScript (a comment, a blank line, an interface or type alias) counts as a
// line never run. This keeps src/ only and leaves those lines out.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * @typedef {{ total: number, covered: number }} Count
 * @typedef {{ lines: Count, branches: Count, functions: Count }} Counts
 * @typedef {Counts & { path: string }} FileCoverage
 * @typedef {{ totals: Counts, files: FileCoverage[], sourceFiles: number }} SrcCoverage
 */

/**
 * @param {{ files: Array<{ path: string, totalBranchCount: number, coveredBranchCount: number,
 *   totalFunctionCount: number, coveredFunctionCount: number, lines: Array<{ line: number, count: number }> }> }} summary
 * @param {string} workspace the workspace's folder (the test run's working directory)
 * @returns {SrcCoverage}
 */
export function srcCoverage(summary, workspace) {
  const src = path.join(workspace, 'src') + path.sep;
  const files = summary.files
    .filter((file) => file.path.startsWith(src) && !isTestFile(file.path))
    .map((file) => {
      const noCode = linesWithoutCode(file.path, readFileSync(file.path, 'utf8'));
      const lines = file.lines.filter((l) => !noCode.has(l.line));
      return {
        path: path.relative(workspace, file.path),
        lines: { total: lines.length, covered: lines.filter((l) => l.count > 0).length },
        branches: { total: file.totalBranchCount, covered: file.coveredBranchCount },
        functions: { total: file.totalFunctionCount, covered: file.coveredFunctionCount },
      };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
  return { totals: addUp(files), files, sourceFiles: countSourceFiles(path.join(workspace, 'src')) };
}

/** @param {Counts[]} parts @returns {Counts} */
export function addUp(parts) {
  /** @param {'lines' | 'branches' | 'functions'} key @returns {Count} */
  const sum = (key) => ({
    total: parts.reduce((n, p) => n + p[key].total, 0),
    covered: parts.reduce((n, p) => n + p[key].covered, 0),
  });
  return { lines: sum('lines'), branches: sum('branches'), functions: sum('functions') };
}

/** @param {Count} count @returns {string} `87.5 %`, or `-` when there is nothing to count */
export function percent(count) {
  return count.total === 0 ? '-' : `${((100 * count.covered) / count.total).toFixed(1)} %`;
}

/** @param {SrcCoverage} coverage @returns {string} one line for the end of a workspace's test output */
export function coverageLine(coverage) {
  const { lines, branches, functions } = coverage.totals;
  return (
    `coverage of src/: lines ${percent(lines)}, branches ${percent(branches)}, functions ${percent(functions)} ` +
    `(${coverage.files.length} of ${coverage.sourceFiles} files loaded by a test)`
  );
}

/**
 * Line numbers (1-based) that hold no JavaScript: blank, comment only, or part of a top-level
 * declaration that compiles to nothing (interface, type alias, `declare`, `import type`).
 * @param {string} fileName @param {string} text @returns {Set<number>}
 */
export function linesWithoutCode(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const lineOf = (/** @type {number} */ pos) => source.getLineAndCharacterOfPosition(pos).line + 1;
  /** @type {Set<number>} */
  const code = new Set();
  for (const statement of source.statements) {
    if (compilesToNothing(statement)) continue;
    // A statement's own lines, without the comments before it.
    for (let line = lineOf(statement.getStart(source)); line <= lineOf(statement.getEnd()); line++) code.add(line);
  }
  const result = new Set();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!code.has(i + 1) || isBlankOrComment(line)) result.add(i + 1);
  });
  return result;
}

/** @param {import('typescript').Statement} statement */
function compilesToNothing(statement) {
  if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) return true;
  if (ts.getCombinedModifierFlags(/** @type {any} */ (statement)) & ts.ModifierFlags.Ambient) return true;
  if (ts.isImportDeclaration(statement)) return statement.importClause?.isTypeOnly === true;
  if (ts.isExportDeclaration(statement)) return statement.isTypeOnly;
  return false;
}

/** A blank line or one that only holds a comment (`//`, or a line of a block comment). @param {string} line */
function isBlankOrComment(line) {
  const trimmed = line.trim();
  return (
    trimmed === '' ||
    trimmed.startsWith('//') ||
    trimmed.startsWith('/*') ||
    trimmed.startsWith('* ') ||
    trimmed === '*' ||
    trimmed === '*/'
  );
}

/** @param {string} file */
function isTestFile(file) {
  return file.endsWith('.test.ts');
}

/** @param {string} dir @returns {number} */
function countSourceFiles(dir) {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter(
    (entry) =>
      entry.isFile() && /\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') && !isTestFile(entry.name),
  ).length;
}
