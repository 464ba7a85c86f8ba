/**
 * The short run of `postgres-kill` inside `npm test` (the full one is `npm run chaos`): the
 * PostgreSQL sink's database SIGKILLed twice under load and restarted on its folder. It passes
 * only when every acknowledged event is in `events` exactly once with exact rollups, nothing was
 * dead-lettered, the sink resumed without a restart, the kills demonstrably happened, and the
 * control (rows deleted and stored twice behind the sink's back) is reported by the same audit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDetails, formatTable } from '../src/report.js';
import { runScenario } from '../src/run-scenario.js';
import { useChaosEnvironment } from './environment.js';

describe('chaos (short run): the PostgreSQL sink', () => {
  const env = useChaosEnvironment('pushtech-postgres-chaos-test-');

  it(
    'PostgreSQL SIGKILLed twice under load: each acknowledged event in events exactly once',
    { timeout: 240_000 },
    async () => {
      const result = await runScenario('postgres-kill', env, {
        rate: 300,
        durationSeconds: 18,
        postgresKills: 2,
        postgresDownSeconds: 2,
      });
      console.log(`${formatTable([result])}\n${formatDetails([result])}`);
      assert.deepEqual(
        result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
        [],
      );
      assert.equal(result.audit.lost, 0);
      const e = result.evidence;
      assert.equal(e['kills'], 2);
      assert.ok((e['ackedWhilePostgresDown'] ?? 0) > 0, 'events were acknowledged while PostgreSQL was down');
      assert.ok((e['rows'] ?? 0) >= result.audit.acknowledged, 'every acknowledged event has its row');
      assert.equal(e['rows'], e['distinctIds']);
      assert.equal(e['sinkLost'], 0);
      assert.equal(e['sinkDuplicated'], 0);
      assert.equal(e['rollupTotal'], e['rows']);
      assert.equal(e['deadLettered'], 0);
      // The control, exact: the deleted rows are missing, the copies counted twice.
      assert.equal(e['controlDeleted'], 10);
      assert.equal(e['controlLost'], 10);
      assert.equal(e['controlCopied'], 10);
      assert.equal(e['controlDuplicated'], 10);
      assert.ok((e['controlRollupGroupsWrong'] ?? 0) > 0);
      assert.equal(result.passed, true);
    },
  );
});
