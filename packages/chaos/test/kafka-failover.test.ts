/**
 * The short leader-failover runs inside `npm test` (the full ones are `npm run chaos -- --scenario
 * kafka-leader-kill,...`): a three-node KRaft cluster of the scenario's own (replication 3,
 * min.insync.replicas 2), a pod under load, a broker SIGKILLed. A run passes only when no
 * acknowledged event is missing in Kafka and the fault demonstrably happened (the node exited by
 * SIGKILL, its partitions got new leaders, the consumer kept reading without a restart).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheDir } from '@pushtech/devstack';
import { startTestCluster } from '@pushtech/devstack/testing';
import { kafkaClients } from '@pushtech/runtime';
import { runLossControl } from '../src/loss-control.js';
import { formatDetails, formatTable } from '../src/report.js';
import { runScenario } from '../src/run-scenario.js';
import type { ChaosEnvironment, ScenarioResult } from '../src/scenario.js';

const RATE = 300;
// A cluster took up to 3 min to answer with the shared machine at a load average of 50.
const TIMEOUT = { timeout: 900_000 };

describe('Kafka leader failover (short run)', () => {
  let env: ChaosEnvironment;
  let workDir = '';

  before(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'pushtech-chaos-failover-'));
    env = {
      // Every scenario here runs a cluster of its own; nothing uses a shared broker.
      sharedBrokers: '',
      cacheRoot: cacheDir(process.env),
      workDir,
      log: (line) => {
        if (process.env['CHAOS_VERBOSE']) console.log(`  ${line}`);
      },
    };
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

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

  it(
    'control: on a three-node cluster the audit reports acknowledged events deleted from Redis as lost',
    TIMEOUT,
    async (t) => {
      const cluster = await startTestCluster(t);
      const control = await runLossControl(
        { ...env, sharedBrokers: cluster.brokers },
        { rate: RATE, seconds: 1.5, remove: 20 },
      );
      assert.equal(control.removed.length, 20);
      assert.equal(control.audit.lost, 20, 'exactly the deleted events are missing');
      assert.deepEqual(new Set(control.audit.lostSample), new Set(control.removed));
      assert.equal(control.detected, true);
    },
  );

  for (const kafkaClient of kafkaClients) {
    it(`the broker leading most partitions SIGKILLed, kafkastore on ${kafkaClient}: none lost`, TIMEOUT, async () => {
      const result = await runScenario('kafka-leader-kill', env, { rate: RATE, durationSeconds: 48, kafkaClient });
      assertPassed(result);
      assert.ok((result.evidence['electionMs'] ?? 0) > 0, 'the partitions moved to new leaders');
      assert.ok((result.evidence['readByConsumerWhileDown'] ?? 0) > 0, 'the consumer kept reading');
      assert.ok(result.recovery !== null, 'a time to recover was measured');
    });
  }

  it('the active controller SIGKILLed: another node takes the quorum, none lost', TIMEOUT, async () => {
    const result = await runScenario('kafka-controller-kill', env, { rate: RATE, durationSeconds: 48 });
    assertPassed(result);
    assert.notEqual(result.evidence['newController'], result.evidence['killedNode']);
  });

  it('a rolling restart of all three nodes: none lost, each node back in sync', TIMEOUT, async () => {
    const result = await runScenario('kafka-rolling-restart', env, {
      rate: RATE,
      durationSeconds: 60,
      kafkaClient: 'platformatic',
    });
    assertPassed(result);
    assert.equal(result.faults.length, 3, 'three restarts');
  });
});
