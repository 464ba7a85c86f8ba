/**
 * The short chaos run inside `npm test` (the full one is `npm run chaos`): every scenario with
 * real tracker, Redis and kafkastore processes under load, a few seconds each. A scenario
 * passes only when no acknowledged event is missing in Kafka AND its fault demonstrably
 * happened (processes really killed, events really waiting in Redis during the outage), so it
 * cannot pass by doing nothing; the loss control shows the audit fails when events do go missing.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { DiskPressureUnavailableError } from '@pushtech/devstack';
import { runLossControl } from '../src/loss-control.js';
import { formatDetails, formatTable } from '../src/report.js';
import { describeSettle, runScenario } from '../src/run-scenario.js';
import type { ScenarioName, ScenarioOptions, ScenarioResult } from '../src/scenario.js';
import { useChaosEnvironment } from './environment.js';

const RATE = 300;
const TIMEOUT = { timeout: 240_000 };

describe('chaos (short run)', () => {
  const env = useChaosEnvironment('pushtech-chaos-test-');

  /** No loss, and every check of the scenario (the fault really happened) held. */
  function assertPassed(result: ScenarioResult): void {
    console.log(`${formatTable([result])}\n${formatDetails([result])}`);
    assert.equal(
      result.audit.lost,
      0,
      `${result.audit.lost} acknowledged events missing in Kafka, e.g. ${result.audit.lostSample.join(', ')}; ` +
        describeSettle(result.settle, result.lossClues),
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

  /** A scenario that needs root (tmpfs, freezer cgroup) is skipped with the reason where it has none. */
  async function runOrSkip(
    t: TestContext,
    name: ScenarioName,
    options: ScenarioOptions,
  ): Promise<ScenarioResult | undefined> {
    try {
      return await runScenario(name, env, options);
    } catch (error: unknown) {
      if (!(error instanceof DiskPressureUnavailableError)) throw error;
      t.skip(error.message);
      return undefined;
    }
  }

  const diskPressure = { rate: RATE, durationSeconds: 12, redisDownSeconds: 1 };

  it('Redis SIGKILLed under disk pressure: every acknowledged event arrives', TIMEOUT, async (t) => {
    const result = await runOrSkip(t, 'redis-disk-pressure', diskPressure);
    if (!result) return;
    assertPassed(result);
    assert.ok((result.evidence['backlogBefore'] ?? 0) > 0, 'events were waiting in Redis under the pressure');
  });

  it('control: with appendfsync everysec the same disk pressure loses acknowledged events', TIMEOUT, async (t) => {
    const result = await runOrSkip(t, 'redis-disk-pressure', { ...diskPressure, redisAppendFsync: 'everysec' });
    if (!result) return;
    console.log(`${formatTable([result])}\n${formatDetails([result])}`);
    assert.ok(result.audit.lost > 0, 'everysec answered writes it had not written, and the SIGKILL took them');
    assert.ok(result.audit.lost <= (result.evidence['ackedUnderPressure'] ?? 0), 'only events answered under pressure');
    assert.equal(result.passed, false);
    // The loss explains itself: the wait ended with nothing left anywhere, every message was read.
    const clues = result.lossClues ?? assert.fail('a run with losses carries its clues');
    assert.equal(result.settle.ended, 'nothing pending');
    assert.equal(clues.waitingInRedis, 0);
    assert.equal(clues.oversized, 0);
    assert.equal(clues.topicMessages, clues.readByAuditor);
    const [kafkastore, tracker, ...more] = Object.keys(clues.output);
    assert.match(kafkastore ?? '', /^kafkastore run 1 \(pid \d+\)$/);
    assert.match(tracker ?? '', /^tracker \(pid \d+\)$/);
    assert.deepEqual(more, []);
  });

  it('pod scaled down mid-load: drained before exit, exit codes 0, nothing left behind', TIMEOUT, async () => {
    const result = await runScenario('pod-scale-down', env, { rate: RATE, durationSeconds: 8 });
    assertPassed(result);
    assert.ok((result.evidence['ackedBeforeSigterm'] ?? 0) > 0);
    assert.ok((result.evidence['failedAfterScaleDown'] ?? 0) > 0, 'the load kept firing at the dead pod');
    assert.ok(result.checks.some((c) => c.name === 'Redis was empty when kafkastore exited' && c.ok));
  });

  it(
    'aborted uploads during a pod scale-down: tracker exits 0 in budget, none acknowledged, none lost',
    TIMEOUT,
    async () => {
      const result = await runScenario('aborted-uploads-scale-down', env, { rate: RATE, durationSeconds: 8 });
      assertPassed(result);
      assert.ok((result.evidence['uploadsAbortedBeforeSigterm'] ?? 0) > 0, 'uploads were aborted under load');
      assert.ok((result.evidence['uploadsInFlightAtSigterm'] ?? 0) > 0, 'and some were in flight at the SIGTERM');
      assert.equal(result.evidence['lateAckControlLost'], result.audit.lost + 1, 'the control is seen as lost');
    },
  );

  it(
    'oversized events under load: none lost, none sent twice, none cut, the oversized kept whole',
    TIMEOUT,
    async () => {
      const result = await runScenario('oversized-events', env, { rate: RATE, durationSeconds: 8 });
      assertPassed(result);
      assert.equal(result.audit.duplicated, 0);
      assert.ok((result.evidence['largeInjected'] ?? 0) > 0, 'large events with one key were pushed');
      assert.ok((result.evidence['oversizedInjected'] ?? 0) > 0, 'oversized events were pushed');
      assert.equal(result.evidence['oversizedKeptWhole'], result.evidence['oversizedInjected']);
      assert.equal(result.evidence['controlMissing'], 1, 'the check sees an oversized entry that went missing');
    },
  );

  it(
    "consumers' Redis full, archive disk full, Redis and consumers SIGKILLed: each event counted and archived once",
    TIMEOUT,
    async (t) => {
      const result = await runOrSkip(t, 'consumer-outages', {
        rate: RATE,
        durationSeconds: 22,
        consumerOutageSeconds: 2,
        redisDownSeconds: 1,
      });
      if (!result) return;
      assertPassed(result);
      const events = result.evidence['events'] ?? 0;
      assert.ok(events >= result.audit.acknowledged, 'every acknowledged event is among those audited');
      assert.equal(result.evidence['counted'], events);
      assert.equal(result.evidence['archived'], events);
      assert.equal(result.evidence['deadLettered'], 0);
      assert.ok((result.evidence['consumerOomRefusals'] ?? 0) > 0, "the consumers' writes were refused");
      assert.ok((result.evidence['ackedWhileDiskFull'] ?? 0) > 0, 'events arrived while the disk was full');
      // The negative controls, exact: a replay without state counts every event twice; a deleted
      // archive file's events are missing and a copied one's are there twice.
      assert.equal(result.evidence['controlOverCounted'], events);
      assert.ok((result.evidence['controlArchiveMissing'] ?? 0) > 0);
      assert.ok((result.evidence['controlArchiveDuplicated'] ?? 0) > 0);
    },
  );

  const twoKafkastores = { rate: RATE, durationSeconds: 10 };

  it('a second kafkastore with the same instance name refuses; no duplicates, none lost', TIMEOUT, async () => {
    const result = await runScenario('two-kafkastores', env, twoKafkastores);
    assertPassed(result);
    assert.equal(result.evidence['secondExitCode'], 1);
    assert.equal(result.audit.duplicated, 0);
  });

  it(
    'control: without the lease two kafkastores on one list send duplicates, and the audit sees them',
    TIMEOUT,
    async () => {
      // The load must outlast the second one's start and its 6 s overlap: in one CI run it took
      // 10 s to be ready, after a 10 s load had ended, and with nothing left to take it sent no copy.
      const result = await runScenario('two-kafkastores', env, {
        ...twoKafkastores,
        durationSeconds: 30,
        secondKafkastoreLease: false,
      });
      console.log(`${formatTable([result])}\n${formatDetails([result])}`);
      assert.equal(result.audit.lost, 0, 'duplicates, not losses');
      assert.ok(result.audit.duplicated > 0, 'the audit counts the second copies');
      assert.equal(result.evidence['duplicates'], result.audit.duplicated);
      assert.equal(result.passed, false);
    },
  );
});
