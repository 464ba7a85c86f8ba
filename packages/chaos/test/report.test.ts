import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildReport, formatDetails, formatDuration, formatTable } from '../src/report.js';
import { describeSettle } from '../src/run-scenario.js';
import type { ScenarioResult } from '../src/scenario.js';

function result(overrides: Partial<ScenarioResult> & Pick<ScenarioResult, 'scenario'>): ScenarioResult {
  return {
    title: 't',
    description: 'd',
    recoveryDefinition: 'r',
    rate: 100,
    durationSeconds: 10,
    startedAt: '2025-01-01T00:00:00.000Z',
    wallSeconds: 20,
    load: { scheduled: 1000, acknowledged: 1000, refused: 0, failed: 0, statuses: { 204: 1000 } },
    audit: {
      acknowledged: 1000,
      delivered: 1000,
      lost: 0,
      duplicated: 3,
      deliveredUnacknowledged: 0,
      lostSample: [],
      messages: 1003,
      deadLettered: 0,
      undecodable: 0,
      withoutRequestId: 0,
    },
    settle: { ms: 120, ended: 'all seen' },
    lossClues: null,
    faults: [{ what: 'f', startedAt: 1, endedAt: 2, recoveryMs: 1500 }],
    recovery: { worstMs: 1500, medianMs: 1500 },
    evidence: { kills: 1 },
    checks: [{ name: 'every acknowledged event is in Kafka', ok: true, detail: 'ok' }],
    passed: true,
    ...overrides,
  };
}

describe('the report', () => {
  it('prints one row per scenario with the numbers the issue asks for', () => {
    const table = formatTable([
      result({ scenario: 'kafkastore-kill' }),
      result({ scenario: 'pod-scale-down', recovery: null, evidence: { drainMs: 420 } }),
    ]);
    const lines = table.split('\n');
    assert.match(lines[0] ?? '', /scenario .* acknowledged .* delivered .* lost .* duplicated .* faults .* recover/);
    assert.match(
      lines[2] ?? '',
      /kafkastore-kill \|\s+1,000 \|\s+1,000 \|\s+0 \|\s+3 \|\s+1 \| 1\.5 s \/ 1\.5 s\s+\| pass/,
    );
    assert.match(lines[3] ?? '', /pod-scale-down .* n\/a \(drained in 420 ms\)/);
  });

  it('marks a loss, a failed check and an error, and the run fails', () => {
    const lossy = result({
      scenario: 'redis-restart',
      audit: { ...result({ scenario: 'redis-restart' }).audit, delivered: 990, lost: 10, lostSample: ['x-1'] },
      checks: [{ name: 'every acknowledged event is in Kafka', ok: false, detail: '10 of 1000 lost, e.g. x-1' }],
      passed: false,
    });
    const errors = [{ scenario: 'kafka-outage' as const, error: 'broker did not start' }];
    assert.match(formatTable([lossy], errors), /redis-restart .* FAIL\s+\|\n.*kafka-outage .* ERROR/);
    const details = formatDetails([lossy], errors);
    assert.match(details, /FAILED every acknowledged event is in Kafka: 10 of 1000 lost, e\.g\. x-1/);
    assert.match(details, /kafka-outage: ERROR broker did not start/);

    const report = buildReport({ options: {}, control: null, scenarios: [lossy], errors: [] });
    assert.equal(report.passed, false);
    assert.deepEqual(
      report.summary.goals.map((g) => g.met),
      [false],
    );
    assert.equal(
      buildReport({ options: {}, control: null, scenarios: [result({ scenario: 'redis-restart' })], errors }).passed,
      false,
    );
  });

  it('says where lost events could be and what the pod said last', () => {
    const clues = {
      waitingInRedis: 0,
      oversized: null,
      topicMessages: 2990,
      readByAuditor: 2990,
      deadLetterMessages: 10,
      deadLettersRead: 10,
      auditorRestarts: 1,
      output: { 'kafkastore run 1 (pid 7)': '{"msg":"entry dead-lettered"}\n{"msg":"Kafka available again"}' },
    };
    const settle = { ms: 2_500, ended: 'nothing pending' as const };
    assert.equal(
      describeSettle(settle, clues),
      'the wait after the load ended after 2500 ms (nothing pending); still in Redis 0, in the oversized list ' +
        'unknown (no answer); the topic holds 2990 messages, the auditor read 2990; the dead-letter topic holds ' +
        '10, the auditor read 10; auditor restarts 1',
    );
    assert.equal(describeSettle(settle, null), 'the wait after the load ended after 2500 ms (nothing pending)');
    const details = formatDetails([result({ scenario: 'redis-restart', lossClues: clues, passed: false })]);
    assert.match(
      details,
      /\n {2}last output of kafkastore run 1 \(pid 7\):\n {4}\{"msg":"entry dead-lettered"\}\n {4}\{"msg":"Kafka available again"\}$/,
    );
    assert.doesNotMatch(formatDetails([result({ scenario: 'redis-restart' })]), /last output/);
  });

  it('passes only when every scenario passed and the loss control was detected', () => {
    const ok = [result({ scenario: 'kafkastore-kill' })];
    const audit = ok[0]?.audit ?? assert.fail();
    assert.equal(buildReport({ options: {}, control: null, scenarios: ok, errors: [] }).passed, true);
    const detected = { removed: ['a'], audit: { ...audit, lost: 1 }, detected: true };
    assert.equal(buildReport({ options: {}, control: detected, scenarios: ok, errors: [] }).passed, true);
    const missed = { ...detected, detected: false };
    assert.equal(buildReport({ options: {}, control: missed, scenarios: ok, errors: [] }).passed, false);
    assert.equal(buildReport({ options: {}, control: { error: 'x' }, scenarios: ok, errors: [] }).passed, false);
    assert.equal(buildReport({ options: {}, control: null, scenarios: [], errors: [] }).passed, false, 'nothing ran');
  });

  it('carries the summary the combined benchmark report reads', () => {
    const report = buildReport({
      options: {},
      control: null,
      scenarios: [result({ scenario: 'kafkastore-kill' })],
      errors: [],
    });
    assert.equal(report.summary.bench, 'chaos');
    assert.deepEqual(
      report.summary.rows.map((r) => `${r.metric}=${r.value}`),
      [
        'scenarios passed=1',
        'acknowledged events=1000',
        'events lost=0',
        'duplicates=3',
        'time to recover, worst (s)=1.5',
      ],
    );
  });

  it('formats durations', () => {
    assert.equal(formatDuration(null), '-');
    assert.equal(formatDuration(12.4), '12 ms');
    assert.equal(formatDuration(2_345), '2.3 s');
  });
});
