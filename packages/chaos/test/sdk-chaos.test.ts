/**
 * The short run of `sdk-flaky-network` inside `npm test` (the full one is `npm run chaos`):
 * SDK clients send through a proxy that drops connections, loses answers after the request went
 * through and delays answers, while kafkastore is SIGKILLed. It passes only when every id the
 * devices minted is in Kafka, the consumer kit's dedup counts each exactly once, the faults
 * demonstrably happened, and both controls (unsent ids reported missing; duplicates counted
 * twice without dedup) show that the checks can fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDetails, formatTable } from '../src/report.js';
import { runScenario } from '../src/run-scenario.js';
import { useChaosEnvironment } from './environment.js';

// Node 20 sometimes spins forever in its exit-time handle cleanup (FreeEnvironment →
// CleanupHandles, seen with gdb at ~50 % of a core) after this scenario's proxy resets many
// connections, although every JS handle is closed and every test has reported. Exiting from
// beforeExit, once the event loop is empty, skips that cleanup; the exit code is node:test's.
process.once('beforeExit', () => process.exit(process.exitCode ?? 0));

describe('chaos (short run): SDK clients over a flaky network', () => {
  const env = useChaosEnvironment('pushtech-sdk-chaos-test-');

  it('every device id reaches Kafka and is counted once after dedup', { timeout: 300_000 }, async () => {
    const result = await runScenario('sdk-flaky-network', env, { rate: 300, durationSeconds: 14, killEverySeconds: 2 });
    console.log(`${formatTable([result])}\n${formatDetails([result])}`);
    assert.deepEqual(
      result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
      [],
    );
    assert.equal(result.audit.lost, 0);
    const minted = result.evidence['deviceEventsMinted'] ?? 0;
    assert.ok(minted > 0, 'the devices tracked events');
    assert.equal(result.evidence['deviceEventsMissing'], 0);
    assert.equal(result.evidence['deviceEventsMiscounted'], 0);
    assert.ok((result.evidence['deviceDuplicatesInKafka'] ?? 0) > 0, 'retries put copies into Kafka');
    assert.ok((result.evidence['kills'] ?? 0) >= 1, 'kafkastore was killed');
    // The controls, exact: the 10 unsent ids are missing; without dedup the copies count again.
    assert.equal(result.evidence['controlMissing'], 10);
    assert.ok((result.evidence['controlOverCounted'] ?? 0) > 0);
    assert.equal(result.passed, true);
  });
});
