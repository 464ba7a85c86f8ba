import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { failedTests, summarizeTapResults } from '../src/test-results.js';

describe('summarizeTapResults', () => {
  it('adds up the TAP summaries of every workspace into one closing line', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      path.join(dir, 'a.tap'),
      'TAP version 13\n# Subtest: x\nok 1 - x\n# tests 3\n# pass 3\n# fail 0\n# cancelled 0\n# skipped 0\n# todo 0\n',
    );
    writeFileSync(path.join(dir, 'b.tap'), '# tests 4\n# pass 2\n# fail 1\n# cancelled 1\n# skipped 0\n# todo 0\n');
    assert.deepEqual(summarizeTapResults(dir), {
      passed: 5,
      failed: 2,
      skipped: 0,
      line: 'tests: 5 passed, 2 failed',
      failures: [],
    });
  });

  it('says nothing when no workspace wrote results', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(summarizeTapResults(dir), undefined);
    assert.equal(summarizeTapResults(path.join(dir, 'missing')), undefined);
  });

  it('names each failed test, where it is and its error, not the suites around it', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tap = [
      'TAP version 13',
      '# Subtest: suite a',
      '    # Subtest: passes',
      '    ok 1 - passes',
      '    # Subtest: fails here',
      '    not ok 2 - fails here',
      '      ---',
      "      location: '/check/work/main/services/tracker/test/shutdown.test.ts:5:3'",
      "      failureType: 'testCodeFailure'",
      '      error: |-',
      '        one is not two',
      '        ',
      '        1 !== 2',
      "      code: 'ERR_ASSERTION'",
      '      ...',
      '    1..2',
      'not ok 1 - suite a',
      '  ---',
      "  failureType: 'subtestsFailed'",
      "  error: '1 subtest failed'",
      '  ...',
      'not ok 2 - waits too long',
      '  ---',
      "  location: '/x/packages/chaos/test/a.test.ts:7:1'",
      "  failureType: 'testTimeoutFailure'",
      "  error: 'test timed out after 900000ms'",
      '  ...',
      '# tests 3',
      '# pass 1',
      '# fail 2',
    ].join('\n');
    assert.deepEqual(failedTests(tap), [
      'fails here (services/tracker/test/shutdown.test.ts:5:3): one is not two / 1 !== 2',
      'waits too long (packages/chaos/test/a.test.ts:7:1): test timed out after 900000ms',
    ]);
    writeFileSync(path.join(dir, 'tracker.tap'), tap);
    assert.deepEqual(summarizeTapResults(dir)?.failures, [
      'tracker: fails here (services/tracker/test/shutdown.test.ts:5:3): one is not two / 1 !== 2',
      'tracker: waits too long (packages/chaos/test/a.test.ts:7:1): test timed out after 900000ms',
    ]);
  });
});
