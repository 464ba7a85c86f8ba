#!/usr/bin/env node
/**
 * devstack: the local infrastructure of the pipeline.
 *
 *   up              Redis (the buffer), the consumers' own Redis and Kafka on the .env ports,
 *                   topics created, every service started and "up" once each answers /readyz;
 *                   a local Prometheus scraping them all (DEVSTACK_PROMETHEUS);
 *                   a service that crashes is restarted with backoff; Ctrl-C / SIGTERM stops
 *                   services, then Kafka, then Redis.
 *   run -- CMD ...  a throw-away Redis + Kafka + PostgreSQL on free ports for one command (the
 *                   test and bench runs); the addresses are passed in PUSHTECH_TEST_REDIS_URL,
 *                   PUSHTECH_TEST_KAFKA_BROKERS and PUSHTECH_TEST_POSTGRES_URL; everything is
 *                   removed afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commonSettings, ConfigError, loadEnv, parseConfig } from '@pushtech/runtime';
import { MissingPrerequisiteError } from './commands.js';
import { sweepStaleStacks } from './leftovers.js';
import { cacheDir, repoRoot, servicesDir, stateDir } from './paths.js';
import { freePort, preferClusterPorts, preferPort } from './ports.js';
import { startLocalPostgres, startThrowawayPostgres, type PostgresServer } from './postgres-server.js';
import { startLocalPrometheus, scrapeJobName, type PrometheusServer } from './prometheus-server.js';
import { formatServiceLine } from './service-log.js';
import { discoverServices } from './services.js';
import { devstackSettings, pipelineTopics, portOf } from './settings.js';
import { startStack, type Stack } from './stack.js';
import { opsPort, superviseService, type SupervisedService } from './supervisor.js';
import { summarizeCoverage, summarizeTapResults } from './test-results.js';

const log = (line: string): void => {
  process.stderr.write(`devstack: ${line}\n`);
};

async function up(): Promise<number> {
  const env = loadEnv({ processEnv: process.env, cwd: repoRoot });
  const config = parseConfig('devstack', { ...devstackSettings, LOG_FORMAT: commonSettings.LOG_FORMAT }, env);
  const started = Date.now();

  const wantedRedis = Number(new URL(config.REDIS_URL).port || 6379);
  const wantedConsumersRedis = Number(new URL(config.CONSUMERS_REDIS_URL).port || 6379);
  const wantedKafka = portOf(config.KAFKA_BROKERS[0] ?? '127.0.0.1:19092');
  const redisPort = await preferPort(wantedRedis);
  let consumersRedisPort = await preferPort(wantedConsumersRedis);
  if (consumersRedisPort === redisPort) consumersRedisPort = await freePort();
  const kafkaPort = await preferPort(wantedKafka);
  const controllerPort = await preferPort(config.DEVSTACK_KAFKA_CONTROLLER_PORT);
  for (const [what, wanted, got] of [
    ['Redis', wantedRedis, redisPort],
    ['consumers Redis', wantedConsumersRedis, consumersRedisPort],
    ['Kafka', wantedKafka, kafkaPort],
    ['Kafka controller', config.DEVSTACK_KAFKA_CONTROLLER_PORT, controllerPort],
  ] as const) {
    if (wanted !== got) log(`port ${wanted} (${what}) is taken; using ${got} instead`);
  }
  // DEVSTACK_KAFKA_NODES=3: a KRaft cluster on the ports after KAFKA_BROKERS's, each heap <= 512 MB.
  const kafkaNodes = Number(config.DEVSTACK_KAFKA_NODES);
  const clusterNodes =
    kafkaNodes > 1 ? await preferClusterPorts(kafkaNodes, kafkaPort, controllerPort, log) : undefined;

  const stack = await startStack({
    dir: stateDir(env),
    cacheRoot: cacheDir(env),
    redisPort,
    consumersRedisPort,
    kafkaPort,
    controllerPort,
    ...(clusterNodes ? { kafkaNodes: clusterNodes } : {}),
    topics: pipelineTopics(config),
    kafkaHeapMb: clusterNodes ? Math.min(512, config.DEVSTACK_KAFKA_HEAP_MB) : config.DEVSTACK_KAFKA_HEAP_MB,
    log,
  });
  // The PostgreSQL sink's database, on the port of .env's POSTGRES_URL (or a free one).
  const wantedPostgres = Number(new URL(config.POSTGRES_URL).port || 5432);
  const postgresPort = await preferPort(wantedPostgres);
  if (postgresPort !== wantedPostgres)
    log(`port ${wantedPostgres} (PostgreSQL) is taken; using ${postgresPort} instead`);
  const postgres = await startLocalPostgres({ stateDir: stateDir(env), port: postgresPort, log }).catch(
    async (error: unknown) => {
      await stack.stop();
      throw error;
    },
  );
  const infraMs = Date.now() - started;

  const serviceEnv: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: stack.redisUrl,
    KAFKA_BROKERS: stack.kafkaBrokers,
    // JSON from every service; with LOG_FORMAT=pretty the devstack shows each event as one line.
    LOG_FORMAT: 'json',
    POSTGRES_URL: postgres.url,
  };
  // The consumers keep their state in their own Redis: they cannot fill the tracker's buffer.
  const consumersEnv: NodeJS.ProcessEnv = { ...serviceEnv, REDIS_URL: stack.consumersRedis?.url };
  const discovered = discoverServices(servicesDir(env));
  const prometheusPort = config.DEVSTACK_PROMETHEUS ? await preferPort(config.DEVSTACK_PROMETHEUS_PORT) : 0;
  if (config.DEVSTACK_PROMETHEUS && prometheusPort !== config.DEVSTACK_PROMETHEUS_PORT) {
    log(`port ${config.DEVSTACK_PROMETHEUS_PORT} (Prometheus) is taken; using ${prometheusPort} instead`);
  }
  const prometheus = config.DEVSTACK_PROMETHEUS
    ? startLocalPrometheus({
        stateDir: stateDir(env),
        port: prometheusPort,
        jobs: discovered.flatMap((s) => {
          const port = opsPort(s.name, env);
          return port === undefined ? [] : [{ job: scrapeJobName(s.name), targets: [`127.0.0.1:${port}`] }];
        }),
        ruleFiles: [path.join(repoRoot, 'monitoring', 'alerts.yml')],
        scrapeIntervalSeconds: config.DEVSTACK_PROMETHEUS_SCRAPE_SECONDS,
        log,
      })
    : Promise.resolve(undefined);
  const servicesStarted = Date.now();
  const services: SupervisedService[] = discovered.map((info) => {
    const port = opsPort(info.name, env);
    return superviseService({
      info,
      env: info.name === 'consumers' ? consumersEnv : serviceEnv,
      readyzUrl: port === undefined ? undefined : `http://127.0.0.1:${port}/readyz`,
      write: (line) => process.stdout.write(`${formatServiceLine(info.name, line, config.LOG_FORMAT)}\n`),
      log,
    });
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (reason: string, code: number): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log(`stopping (${reason}): services, then Prometheus, Kafka and Redis`);
      await Promise.allSettled(services.map((s) => s.stop(30_000)));
      await (await prometheus)?.stop();
      await postgres.stop();
      await stack.stop();
      log('stopped; no process left running');
      resolve(code);
    };
    process.on('SIGINT', () => void stop('SIGINT', 0));
    process.on('SIGTERM', () => void stop('SIGTERM', 0));
    watchParent(() => void stop('parent process exited', 0));
    for (const node of stack.kafkaNodes) {
      void node.process.exited.then(() => {
        if (!stopping) void stop(`${node.process.name} exited unexpectedly`, 1);
      });
    }
    void stack.redis.process.exited.then(() => {
      if (!stopping) void stop('Redis exited unexpectedly', 1);
    });
    void postgres.process.exited.then(() => {
      if (!stopping) void stop('PostgreSQL exited unexpectedly', 1);
    });
    void stack.consumersRedis?.process.exited.then(() => {
      if (!stopping) void stop("the consumers' Redis exited unexpectedly", 1);
    });

    // "up" only once every service answers /readyz with 200; a crash meanwhile is restarted.
    const waiting = new Set(services.filter((s) => s.readyzUrl !== undefined).map((s) => s.info.name));
    if (waiting.size > 0) log(`infrastructure ready; waiting for ${[...waiting].join(', ')} to be ready (/readyz)`);
    const reminder = setInterval(() => {
      if (!stopping && waiting.size > 0) log(`still waiting for ${[...waiting].join(', ')} to be ready (/readyz)`);
    }, 15_000);
    reminder.unref();
    for (const s of services) void s.ready.then(() => waiting.delete(s.info.name));
    void Promise.all(services.map((s) => s.ready)).then(async () => {
      clearInterval(reminder);
      const local = await prometheus;
      if (!stopping) printSummary(stack, postgres, services, local, env, infraMs, Date.now() - servicesStarted);
    });
  });
}

/**
 * npm and `sh -c` do not always pass SIGTERM on (npm exits, the shell dies, we are orphaned).
 * Being re-parented means whoever started us is gone: stop as if signalled.
 */
function watchParent(onOrphaned: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, 500);
  timer.unref();
}

function printSummary(
  stack: Stack,
  postgres: PostgresServer,
  services: readonly SupervisedService[],
  prometheus: PrometheusServer | undefined,
  env: Readonly<Record<string, string | undefined>>,
  infraMs: number,
  servicesMs: number,
): void {
  const rows: [string, string][] = [
    ['Redis', `${stack.redisUrl}  (pid ${stack.redis.process.pid}, log ${stack.redis.process.logFile})`],
    ...(stack.consumersRedis
      ? [
          [
            'Consumers Redis',
            `${stack.consumersRedis.url}  (pid ${stack.consumersRedis.process.pid}, log ${stack.consumersRedis.process.logFile})`,
          ] as [string, string],
        ]
      : []),
    ...stack.kafkaNodes.map((k): [string, string] => [
      stack.kafkaNodes.length > 1 ? `Kafka node ${k.nodeId}` : 'Kafka',
      `${k.brokers}  (pid ${k.process.pid}, log ${k.process.logFile})`,
    ]),
    ['Topics', stack.topics.join(', ')],
    ['PostgreSQL', `${postgres.url}  (pid ${postgres.process.pid}, log ${postgres.process.logFile})`],
  ];
  for (const s of services) {
    const portVar = `${s.info.name.toUpperCase()}_PORT`;
    const port = env[portVar];
    const readiness = s.readyzUrl ? 'ready' : 'no ops port in the settings: readiness not checked';
    rows.push([s.info.name, `${port ? `http://127.0.0.1:${port}  ` : ''}(pid ${s.pid ?? '?'}, ${readiness})`]);
  }
  if (services.length === 0) rows.push(['Services', 'none yet under services/: infrastructure only']);
  if (prometheus) {
    rows.push([
      'Prometheus',
      `${prometheus.url}  (pid ${prometheus.process.pid}, log ${prometheus.process.logFile}, config ${prometheus.configFile})`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  process.stdout.write(
    `\nPushtech pipeline is up (infrastructure ready in ${(infraMs / 1000).toFixed(1)} s, services in ${(servicesMs / 1000).toFixed(1)} s more)\n${lines.join('\n')}\nA service that crashes is restarted (after 1 s, doubling up to 30 s).\nCtrl-C stops everything.\n\n`,
  );
}

async function run(command: readonly string[]): Promise<number> {
  if (command.length === 0) throw new Error('usage: devstack run -- <command> [args...]');
  const env = loadEnv({ processEnv: process.env, cwd: repoRoot });
  const config = parseConfig('devstack', devstackSettings, env);
  await sweepStaleStacks(tmpdir(), log);
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-stack-'));
  const resultsDir = path.join(dir, 'test-results');
  const started = Date.now();
  const [redisPort, kafkaPort, controllerPort] = [await freePort(), await freePort(), await freePort()];
  let stack: Stack | undefined;
  let postgres: PostgresServer | undefined;
  let code = 1;
  try {
    stack = await startStack({
      dir,
      cacheRoot: cacheDir(env),
      redisPort,
      kafkaPort,
      controllerPort,
      topics: pipelineTopics(config),
      redisAppendOnly: false,
      kafkaHeapMb: config.DEVSTACK_KAFKA_HEAP_MB,
      log,
    });
    log(
      `test stack up in ${((Date.now() - started) / 1000).toFixed(1)} s: Redis ${stack.redisUrl}, Kafka ${stack.kafkaBrokers}`,
    );
    postgres = await startThrowawayPostgres(dir, await freePort());
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      PUSHTECH_TEST_POSTGRES_URL: postgres.url,
      PUSHTECH_TEST_REDIS_URL: stack.redisUrl,
      PUSHTECH_TEST_KAFKA_BROKERS: stack.kafkaBrokers,
      PUSHTECH_TEST_RESULTS: resultsDir,
      PUSHTECH_BENCH_RESULTS: process.env['PUSHTECH_BENCH_RESULTS'] ?? path.join(repoRoot, '.bench-results'),
    };
    code = await new Promise<number>((resolve) => {
      const [bin, ...args] = command as [string, ...string[]];
      const child = spawn(bin, args, { stdio: 'inherit', env: childEnv });
      const forward = (signal: NodeJS.Signals): void => {
        child.kill(signal);
      };
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      watchParent(() => forward('SIGTERM'));
      child.once('error', (error) => {
        log(`cannot run ${bin}: ${error.message}`);
        resolve(127);
      });
      child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
    });
    const coverage = summarizeCoverage(resultsDir);
    if (coverage) {
      // Kept after the run (the results folder goes with the stack): CI's copy of the figures.
      const kept = path.join(repoRoot, '.test-results');
      mkdirSync(kept, { recursive: true });
      writeFileSync(path.join(kept, 'coverage.txt'), `${coverage.text}\n`);
      process.stdout.write(`\n${coverage.text}\n(also in .test-results/coverage.txt)\n`);
    }
    const summary = summarizeTapResults(resultsDir);
    if (summary) {
      // Last, so the tail of a long run's log names what failed.
      const failures = summary.failures.slice(0, 20).map((f) => `  failed: ${f}\n`);
      if (summary.failures.length > 20) failures.push(`  and ${summary.failures.length - 20} more\n`);
      process.stdout.write(`\n${summary.line}\n${failures.join('')}`);
    }
    if (summary && summary.failed > 0 && code === 0) code = 1;
  } finally {
    await postgres?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return code;
}

async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'up':
      return up();
    case 'run':
      return run(rest[0] === '--' ? rest.slice(1) : rest);
    default:
      process.stderr.write('usage: devstack up | devstack run -- <command> [args...]\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof MissingPrerequisiteError) {
      log(error.message);
    } else {
      log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    process.exit(1);
  },
);
