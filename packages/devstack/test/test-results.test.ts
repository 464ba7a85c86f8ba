import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { summarizeTapResults } from '../src/test-results.js';

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
    });
  });

  it('says nothing when no workspace wrote results', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(summarizeTapResults(dir), undefined);
    assert.equal(summarizeTapResults(path.join(dir, 'missing')), undefined);
  });
});
