import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSinkAudit, exactlyOnce, parseSinkAudit, sinkAuditScript, type SinkAudit } from '../src/sink-audit.js';

const clean: SinkAudit = {
  rows: 5,
  distinctIds: 5,
  acknowledged: 4,
  lost: 0,
  duplicated: 0,
  topicMissing: 0,
  unexpected: 0,
  rollupTotal: 5,
  rollupGroupsWrong: 0,
  deviceHoursWrong: 0,
  lostSample: [],
  duplicatedSample: [],
};

/** The psql output the audit script gives for an audit (one `name<TAB>value` line per figure). */
function output(a: SinkAudit): string[] {
  return Object.entries(a).map(([k, v]) => `${k}\t${Array.isArray(v) ? v.join(',') : String(v)}`);
}

describe('the sink audit', () => {
  it('reads every figure back from the script output', () => {
    const audit = { ...clean, lost: 2, lostSample: ['r-1', 'r-2'] };
    assert.deepEqual(parseSinkAudit(output(audit)), audit);
  });

  it('a figure missing from the output is an error naming it, not a zero', () => {
    assert.throws(() => parseSinkAudit(output(clean).filter((l) => !l.startsWith('duplicated\t'))), /duplicated/);
  });

  const deviations: [string, Partial<SinkAudit>][] = [
    ['an acknowledged event missing', { lost: 1 }],
    ['an acknowledged event twice', { duplicated: 1 }],
    ['an id in two rows', { rows: 6 }],
    ['an event of the topic missing', { topicMissing: 1 }],
    ['a row not from the topic', { unexpected: 1 }],
    ['rollups summing to other than the rows', { rollupTotal: 4 }],
    ['a rollup group wrong', { rollupGroupsWrong: 1 }],
    ['a device hour wrong', { deviceHoursWrong: 1 }],
    ['nothing acknowledged', { acknowledged: 0 }],
  ];
  it('exactly once holds for a clean table and fails on each deviation', () => {
    assert.equal(exactlyOnce(clean), true);
    for (const [what, change] of deviations) assert.equal(exactlyOnce({ ...clean, ...change }), false, what);
  });

  it('copies ids escaped, each once, and says what it found', () => {
    const script = sinkAuditScript(['a\tb', 'a\tb', 'c\\d'], ['e1']);
    assert.match(script, /copy acked from stdin;\na\\tb\nc\\\\d\n\\\.\n/);
    assert.match(
      describeSinkAudit({ ...clean, lost: 1, lostSample: ['r-9'] }),
      /1 of 4 acknowledged missing \(e\.g\. r-9\)/,
    );
  });
});
