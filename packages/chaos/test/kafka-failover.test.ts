/**
 * The audit on a three-node KRaft cluster (replication 3, min.insync.replicas 2): acknowledged
 * events deleted from Redis are reported lost there too. The failover scenarios themselves
 * (`kafka-leader-kill`, `kafka-controller-kill`, `kafka-rolling-restart`) run in `npm run chaos`
 * only for now: in CI's parallel load a short leader kill lost nothing but kafidx did not read
 * again within 30 s of the election (event_counter did after 1.9 s), which is still open.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheDir } from '@pushtech/devstack';
import { startTestCluster } from '@pushtech/devstack/testing';
import { runLossControl } from '../src/loss-control.js';
import type { ChaosEnvironment } from '../src/scenario.js';

const RATE = 300;
// A cluster took up to 3 min to answer with the shared machine at a load average of 50.
const TIMEOUT = { timeout: 900_000 };

describe('Kafka failover: the loss control on a three-node cluster', () => {
  let env: ChaosEnvironment;
  let workDir = '';

  before(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'pushtech-chaos-failover-'));
    env = {
      // The control runs on a cluster of its own; nothing uses a shared broker.
      sharedBrokers: '',
      cacheRoot: cacheDir(process.env),
      workDir,
      log: (line) => {
        if (process.env['CHAOS_VERBOSE']) console.log(`  ${line}`);
      },
    };
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

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
});
