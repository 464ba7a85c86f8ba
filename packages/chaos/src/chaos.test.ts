/**
 * The short chaos run inside `npm test` (the full one is `npm run chaos`): every scenario with
 * real tracker, Redis and kafkastore processes under load, a few seconds each. A scenario
 * passes only when no acknowledged event is missing in Kafka AND its fault demonstrably
 * happened (processes really killed, events really waiting in Redis during the outage), so it
 * cannot pass by doing nothing; the loss control shows the audit fails when events do go missing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheDir } from '@pushtech/devstack';
import { testInfra } from '@pushtech/devstack/testing';
import { runLossControl } from './loss-control.js';
import { formatDetails, formatTable } from './report.js';
import { runScenario } from './run-scenario.js';
import type { ChaosEnvironment, ScenarioResult } from './scenario.js';

const RATE = 300;
const TIMEOUT = { timeout: 240_000 };

describe('chaos (short run)', () => {
  let env: ChaosEnvironment;
  let workDir = '';

  before(async () => {
    const infra = await testInfra();
    workDir = mkdtempSync(path.join(tmpdir(), 'pushtech-chaos-test-'));
    env = {
      sharedBrokers: infra.kafkaBrokers,
      cacheRoot: cacheDir(process.env),
      workDir,
      log: (line) => {
        if (process.env['CHAOS_VERBOSE']) console.log(`  ${line}`);
      },
    };
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  /** No loss, and every check of the scenario (the fault really happened) held. */
  function assertPassed(result: ScenarioResult): void {
    console.log(`${formatTable([result])}\n${formatDetails([result])}`);
    assert.equal(
      result.audit.lost,
      0,
      `${result.audit.lost} acknowledged events missing in Kafka, e.g. ${result.audit.lostSample.join(', ')}`,
    );
    assert.ok(result.audit.acknowledged > 0, 'the load was acknowledged at all');
    assert.deepEqual(
      result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
      [],
    );
    assert.equal(result.passed, true);
  }

  it('the audit catches a loss: acknowledged events deleted from Redis are reported lost', TIMEOUT, async () => {
    const control = await runLossControl(env, { rate: RATE, seconds: 1.5, remove: 20 });
    assert.equal(control.removed.length, 20);
    assert.equal(control.audit.lost, 20, 'exactly the deleted events are missing');
    assert.deepEqual(new Set(control.audit.lostSample), new Set(control.removed));
    assert.equal(control.audit.delivered, control.audit.acknowledged - 20, 'everything else arrived');
    assert.equal(control.detected, true);
  });

  it('kafkastore SIGKILLed every ~2 s: every acknowledged event reaches Kafka', TIMEOUT, async () => {
    const result = await runScenario('kafkastore-kill', env, { rate: RATE, durationSeconds: 14, killEverySeconds: 2 });
    assertPassed(result);
    assert.ok((result.evidence['kills'] ?? 0) >= 1, 'kafkastore was killed');
    assert.equal(result.faults.length, result.evidence['kills']);
    assert.ok((result.evidence['ackedWhileKafkastoreDown'] ?? 0) > 0, 'events were accepted while it was down');
  });

  it('Kafka broker stopped for 4 s: events wait in Redis and all arrive after it is back', TIMEOUT, async () => {
    const result = await runScenario('kafka-outage', env, { rate: RATE, durationSeconds: 19, kafkaOutageSeconds: 4 });
    assertPassed(result);
    assert.ok((result.evidence['ackedDuringOutage'] ?? 0) > 0, 'events were acknowledged during the outage');
    assert.ok((result.evidence['backlogMaxDuringOutage'] ?? 0) > 0, 'they waited in Redis');
    assert.ok((result.evidence['brokerDownMs'] ?? 0) >= 4_000);
  });

  it('Redis SIGKILLed and restarted: the events it held come back from the AOF and arrive', TIMEOUT, async () => {
    const result = await runScenario('redis-restart', env, { rate: RATE, durationSeconds: 12, redisDownSeconds: 2 });
    assertPassed(result);
    const before = result.evidence['backlogAtCrash'] ?? 0;
    assert.ok(before > 0, 'events were waiting in Redis when it was killed');
    assert.ok((result.evidence['backlogAfterRestart'] ?? 0) >= before, 'all of them were there after the restart');
  });

  it('pod scaled down mid-load: drained before exit, exit codes 0, nothing left behind', TIMEOUT, async () => {
    const result = await runScenario('pod-scale-down', env, { rate: RATE, durationSeconds: 8 });
    assertPassed(result);
    assert.ok((result.evidence['ackedBeforeSigterm'] ?? 0) > 0);
    assert.ok((result.evidence['failedAfterScaleDown'] ?? 0) > 0, 'the load kept firing at the dead pod');
    assert.ok(result.checks.some((c) => c.name === 'Redis was empty when kafkastore exited' && c.ok));
  });
});
