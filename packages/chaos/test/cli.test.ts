import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveOptions } from '../src/run-scenario.js';
import { ChaosUsageError } from '../src/scenario.js';
import { scenarios } from '../src/scenarios/index.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function runCli(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', cli, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('npm run chaos: bad input stops it before anything starts', () => {
  const cases: { args: string[]; message: RegExp }[] = [
    { args: ['--rate', '0'], message: /--rate must be a positive number, got "0"/ },
    { args: ['--duration', 'long'], message: /--duration must be a positive number, got "long"/ },
    { args: ['--scenario', 'kafkastore-kill,meteor'], message: /unknown scenario "meteor"/ },
    { args: ['--frobnicate'], message: /Unknown option '--frobnicate'/ },
    {
      args: ['--scenario', 'kafka-outage', '--duration', '20'],
      message: /kafka-outage: a load of 20 s is too short .* at least 30 s/,
    },
    { args: ['--consumer-outage', '0'], message: /--consumer-outage must be a positive number, got "0"/ },
    {
      args: ['--scenario', 'consumer-outages', '--duration', '30', '--consumer-outage', '10'],
      message: /consumer-outages: a load of 30 s is too short .* at least 53 s/,
    },
    { args: ['--postgres-kills', '0'], message: /--postgres-kills must be a positive number, got "0"/ },
    {
      args: ['--scenario', 'postgres-kill', '--duration', '20'],
      message: /postgres-kill: a load of 20 s is too short .* at least 25 s/,
    },
  ];
  for (const c of cases) {
    it(c.args.join(' '), () => {
      const r = runCli(c.args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.match(r.stderr, /usage: npm run chaos/);
    });
  }

  it('--help lists the scenarios', () => {
    const r = runCli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--scenario +kafkastore-kill, kafka-outage, redis-restart, pod-scale-down/);
  });
});

describe('scenario options', () => {
  it('refuses a load too short for the fault, saying how long it must be', () => {
    assert.throws(
      () => resolveOptions(scenarios['kafka-outage'], { rate: 100, durationSeconds: 10, kafkaOutageSeconds: 15 }),
      (error: unknown) =>
        error instanceof ChaosUsageError &&
        /kafka-outage: a load of 10 s is too short .* at least 29 s/.test(error.message),
    );
  });

  it('refuses non-positive numbers by name', () => {
    assert.throws(
      () => resolveOptions(scenarios['kafkastore-kill'], { rate: -5, durationSeconds: 30 }),
      /kafkastore-kill: rate must be a positive number, got -5/,
    );
    assert.throws(
      () => resolveOptions(scenarios['redis-restart'], { rate: 5, durationSeconds: 30, redisDownSeconds: Number.NaN }),
      /redisDownSeconds must be a positive number, got NaN/,
    );
    assert.throws(
      () => resolveOptions(scenarios['consumer-outages'], { rate: 5, durationSeconds: 60, consumerOutageSeconds: 0 }),
      /consumer-outages: consumerOutageSeconds must be a positive number, got 0/,
    );
  });

  it('fills in the defaults', () => {
    const o = resolveOptions(scenarios['pod-scale-down'], { rate: 100, durationSeconds: 10, seed: 7 });
    assert.deepEqual(
      { ...o },
      {
        rate: 100,
        durationSeconds: 10,
        seed: 7,
        connections: 32,
        settleTimeoutMs: 60_000,
        killEverySeconds: 4,
        kafkaOutageSeconds: 15,
        redisDownSeconds: 3,
        redisAppendFsync: 'always',
        secondKafkastoreLease: true,
        consumerOutageSeconds: 5,
        postgresKills: 3,
        postgresDownSeconds: 3,
      },
    );
  });
});
