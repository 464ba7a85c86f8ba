// Node's spec reporter with one line of src/ coverage where it would print its whole coverage
// table (every file a test loaded, tests and other workspaces included). Under the root test
// command (PUSHTECH_TEST_RESULTS set) it also writes that coverage as `<workspace>.coverage.json`
// there, for one table of the whole run. With PUSHTECH_TEST_OUTCOME set it also writes there, as
// one line of JSON, how many tests failed and whether Node could not read the coverage files
// (run-tests.mjs reads it). (A third reporter would do, but Node 20 warns of a listener leak
// with three.)
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { spec } from 'node:test/reporters';
import { coverageLine, srcCoverage } from './src-coverage.mjs';

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* specWithCoverageLine(source) {
  /** @type {string | undefined} */
  let line;
  let failed = 0;
  /** @type {string | undefined} */
  let coverageError;
  async function* withoutCoverage() {
    for await (const event of source) {
      if (event.type === 'test:fail') failed++;
      else if (event.type === 'test:diagnostic' && /^Warning: Could not report code coverage/.test(event.data.message))
        coverageError = event.data.message;
      if (event.type === 'test:coverage') line = keep(event.data.summary);
      else yield event;
    }
  }
  yield* Readable.from(withoutCoverage()).pipe(new spec());
  if (line) yield `${line}\n`;
  const outcomeFile = process.env.PUSHTECH_TEST_OUTCOME;
  if (outcomeFile) writeFileSync(outcomeFile, `${JSON.stringify({ failed, coverageError })}\n`);
}

/** @param {any} summary @returns {string} */
function keep(summary) {
  const workspace = summary.workingDirectory ?? process.cwd();
  const coverage = srcCoverage(summary, workspace);
  const resultsDir = process.env.PUSHTECH_TEST_RESULTS;
  if (resultsDir) {
    const name = path.basename(workspace);
    writeFileSync(
      path.join(resultsDir, `${name}.coverage.json`),
      `${JSON.stringify({ workspace: name, ...coverage })}\n`,
    );
  }
  return coverageLine(coverage);
}
