#!/usr/bin/env node
/**
 * npm run chaos [-- --scenario <name>[,<name>...]] [--rate N] [--duration S] [--kafka-outage S]
 *               [--redis-down S] [--consumer-outage S] [--kill-every S] [--postgres-kills N]
 *               [--postgres-down S] [--settle S] [--seed N] [--no-control]
 *
 * The full chaos suite: every scenario under load on real processes, with its own
 * infrastructure (a Kafka broker from the cached jars, a Redis per scenario). Prints a table,
 * writes ${PUSHTECH_BENCH_RESULTS:-<repo>/.bench-results}/chaos.json, and exits 1 when any
 * acknowledged event was lost, a check failed, or the loss control went undetected.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cacheDir, repoRoot } from '@pushtech/devstack';
import { Broker } from './broker.js';
import { runLossControl } from './loss-control.js';
import {
  buildReport,
  formatDetails,
  formatTable,
  recoveryCell,
  type ChaosReport,
  type ScenarioError,
} from './report.js';
import { resolveOptions, runScenario } from './run-scenario.js';
import {
  isScenarioName,
  scenarioNames,
  type ChaosEnvironment,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenario.js';
import { scenarios } from './scenarios/index.js';
import { killTrackedProcesses } from './scope.js';
import { defaultKafkaClient, describeError, kafkaClients, type KafkaClient } from '@pushtech/runtime';

const isKafkaClient = (name: string): name is KafkaClient => (kafkaClients as readonly string[]).includes(name);

const usage = `usage: npm run chaos -- [--scenario <name>[,<name>...]] [--rate N] [--duration S]
                        [--kafka-outage S] [--redis-down S] [--consumer-outage S] [--kill-every S]
                        [--postgres-kills N] [--postgres-down S] [--settle S]
                        [--seed N] [--kafka-client kafkajs|platformatic] [--no-control]
  --scenario      ${scenarioNames.join(', ')} (default: all, in this order)
  --rate          events per second offered by the load generator (default 2000)
  --duration      seconds of load per scenario; the faults happen inside it (default 60)
  --kafka-outage  seconds the broker stays stopped (default 15)
  --redis-down    seconds Redis stays down (default 3)
  --consumer-outage  seconds the consumers' Redis and the archive disk stay full (default 5)
  --kill-every    mean seconds between two kafkastore kills (default 4)
  --postgres-kills   times the sink's PostgreSQL is SIGKILLed in postgres-kill (default 3)
  --postgres-down    seconds PostgreSQL stays down after each kill (default 3)
  --settle        longest wait for acknowledged events to reach Kafka after the load (default 60)
  --seed          repeat a run's traffic and fault timing
  --kafka-client  kafkastore's producer library: platformatic (default) or kafkajs
  --no-control    skip the loss control (events deleted from Redis must be reported lost)`;

const say = (line: string): void => void process.stderr.write(`chaos: ${line}\n`);

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n${usage}\n`);
  process.exit(2);
}

function number(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0)
    fail(`--${flag} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

function parse(): { names: ScenarioName[]; options: ScenarioOptions; control: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        scenario: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        'kafka-outage': { type: 'string' },
        'redis-down': { type: 'string' },
        'consumer-outage': { type: 'string' },
        'kill-every': { type: 'string' },
        'postgres-kills': { type: 'string' },
        'postgres-down': { type: 'string' },
        settle: { type: 'string' },
        seed: { type: 'string' },
        'kafka-client': { type: 'string' },
        'no-control': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }));
  } catch (error: unknown) {
    fail(describeError(error));
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const names = (values.scenario ?? scenarioNames.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !isScenarioName(n));
  if (unknown.length > 0 || names.length === 0)
    fail(`unknown scenario ${JSON.stringify(unknown.join(',') || values.scenario)}`);
  const kafkaClient = values['kafka-client'] ?? defaultKafkaClient;
  if (!isKafkaClient(kafkaClient))
    fail(`--kafka-client must be one of ${kafkaClients.join(', ')}, got ${JSON.stringify(kafkaClient)}`);
  return {
    names: [...new Set(names)] as ScenarioName[],
    control: !values['no-control'],
    options: {
      rate: number('rate', values.rate, 2000),
      durationSeconds: number('duration', values.duration, 60),
      kafkaOutageSeconds: number('kafka-outage', values['kafka-outage'], 15),
      redisDownSeconds: number('redis-down', values['redis-down'], 3),
      consumerOutageSeconds: number('consumer-outage', values['consumer-outage'], 5),
      killEverySeconds: number('kill-every', values['kill-every'], 4),
      postgresKills: Math.round(number('postgres-kills', values['postgres-kills'], 3)),
      postgresDownSeconds: number('postgres-down', values['postgres-down'], 3),
      settleTimeoutMs: number('settle', values.settle, 60) * 1000,
      seed: Math.round(number('seed', values.seed, Date.now() % 1_000_000_007)),
      kafkaClient,
    },
  };
}

async function main(): Promise<number> {
  const { names, options, control } = parse();
  // Every scenario's settings are checked before anything starts, not when its turn comes.
  for (const name of names) {
    try {
      resolveOptions(scenarios[name], options);
    } catch (error: unknown) {
      fail(describeError(error));
    }
  }
  const workDir = mkdtempSync(path.join(tmpdir(), 'pushtech-chaos-'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping every process this run started`);
      killTrackedProcesses();
      rmSync(workDir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }

  let shared: Broker | undefined;
  const results: ScenarioResult[] = [];
  const errors: ScenarioError[] = [];
  let controlResult: ChaosReport['control'] = null;
  try {
    if (control || names.some((n) => !scenarios[n].ownBroker)) {
      say('starting a Kafka broker for the run');
      shared = await Broker.start({ dir: path.join(workDir, 'shared'), cacheRoot: cacheDir(process.env), log: say });
    }
    const env: ChaosEnvironment = {
      sharedBrokers: shared?.brokers ?? '',
      cacheRoot: cacheDir(process.env),
      workDir,
      log: say,
    };
    if (control) {
      say('loss control: deleting acknowledged events from Redis; the audit must report them lost');
      try {
        const c = await runLossControl(env, { rate: Math.min(options.rate, 500) });
        controlResult = c;
        say(
          `loss control: ${c.removed.length} deleted, ${c.audit.lost} reported lost: ${c.detected ? 'detected' : 'NOT DETECTED'}`,
        );
      } catch (error: unknown) {
        controlResult = { error: describeError(error) };
        say(`loss control: ERROR ${controlResult.error}`);
      }
    }
    for (const name of names) {
      try {
        const result = await runScenario(name, env, options);
        results.push(result);
        say(
          `${name}: ${result.passed ? 'pass' : 'FAIL'}; acknowledged ${result.audit.acknowledged}, lost ${result.audit.lost}, duplicated ${result.audit.duplicated}, recover ${recoveryCell(result)}`,
        );
      } catch (error: unknown) {
        const message = describeError(error);
        errors.push({ scenario: name, error: message });
        say(`${name}: ERROR ${message}`);
      }
    }
  } finally {
    await shared?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const report = buildReport({
    options: {
      rate: options.rate,
      durationSeconds: options.durationSeconds,
      kafkaOutageSeconds: options.kafkaOutageSeconds ?? 15,
      redisDownSeconds: options.redisDownSeconds ?? 3,
      consumerOutageSeconds: options.consumerOutageSeconds ?? 5,
      killEverySeconds: options.killEverySeconds ?? 4,
      postgresKills: options.postgresKills ?? 3,
      postgresDownSeconds: options.postgresDownSeconds ?? 3,
      seed: options.seed ?? 0,
      scenarios: names.join(','),
    },
    control: controlResult,
    scenarios: results,
    errors,
  });
  process.stdout.write(`\n${formatTable(results, errors)}\n\n${formatDetails(results, errors)}\n`);
  const dir = process.env['PUSHTECH_BENCH_RESULTS'] ?? path.join(repoRoot, '.bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'chaos.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `\n${report.passed ? 'PASS' : 'FAIL'}: results in ${path.relative(process.cwd(), file) || file}\n`,
  );
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(error instanceof Error ? (error.stack ?? error.message) : String(error));
    killTrackedProcesses();
    process.exit(1);
  },
);
