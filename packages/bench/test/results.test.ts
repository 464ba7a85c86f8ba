import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeResult } from '../src/results.js';
import { SummaryError } from '../src/summary.js';

/** Runs `body` with PUSHTECH_BENCH_RESULTS pointing at a fresh folder. */
function inResultsDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-results-'));
  const before = process.env['PUSHTECH_BENCH_RESULTS'];
  process.env['PUSHTECH_BENCH_RESULTS'] = dir;
  try {
    body(dir);
  } finally {
    if (before === undefined) delete process.env['PUSHTECH_BENCH_RESULTS'];
    else process.env['PUSHTECH_BENCH_RESULTS'] = before;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('writeResult', () => {
  it('writes a result that holds a summary the report can read', () => {
    inResultsDir((dir) => {
      const summary = { bench: 'x', title: 'X', rows: [{ name: 'a', metric: 'ns', value: 1 }] };
      const file = writeResult('x', { raw: [1, 2], summary });
      assert.equal(file, path.join(dir, 'x.json'));
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { raw: [1, 2], summary });
    });
  });

  it('refuses a result without a summary, or with one the report cannot read, and writes nothing', () => {
    inResultsDir((dir) => {
      assert.throws(
        () => writeResult('bare', { results: [] }),
        (e: unknown) => {
          assert.ok(e instanceof SummaryError);
          assert.match(e.message, /bare\.json: no "summary" object/);
          return true;
        },
      );
      // An array where the summary should be (as redis-fsync once wrote) is refused too.
      assert.throws(() => writeResult('rows', { summary: [{ fsync: 'always' }] }), SummaryError);
      assert.equal(existsSync(path.join(dir, 'bare.json')), false);
      assert.equal(existsSync(path.join(dir, 'rows.json')), false);
    });
  });
});
