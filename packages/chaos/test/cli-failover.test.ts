import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveOptions } from '../src/run-scenario.js';
import { scenarios } from '../src/scenarios/index.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function runCli(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', cli, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('npm run chaos: the failover scenarios and --kafka-client', () => {
  it('an unknown client is refused before anything starts, naming the choices', () => {
    const r = runCli(['--scenario', 'kafka-leader-kill', '--kafka-client', 'librdkafka']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--kafka-client must be one of kafkajs, platformatic, got "librdkafka"/);
  });

  it('--help lists the failover scenarios and the client option', () => {
    const r = runCli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /kafka-leader-kill, kafka-controller-kill, kafka-rolling-restart/);
    assert.match(r.stdout, /--kafka-client +kafkastore's producer library/);
  });

  it('each fits in the default 60 s load, and a shorter one is refused with the minimum', () => {
    for (const name of ['kafka-leader-kill', 'kafka-controller-kill', 'kafka-rolling-restart'] as const) {
      const definition = scenarios[name];
      assert.equal(definition.kafkaNodes, 3, `${name} runs on a cluster of three`);
      const options = { rate: 2000, durationSeconds: 60, kafkaClient: 'platformatic' } as const;
      assert.equal(resolveOptions(definition, options).kafkaClient, 'platformatic');
      assert.throws(() => resolveOptions(definition, { rate: 2000, durationSeconds: 20 }), /too short/);
    }
  });
});
