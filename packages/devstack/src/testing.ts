/**
 * Helpers for integration tests of every workspace. `npm test` starts one real Redis and one
 * real Kafka for the whole run (devstack run) and passes their addresses in the environment;
 * a test file run on its own (`node --test file`) starts a private stack instead. Everything a
 * helper creates is removed by a cleanup registered right where it is created.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createAdmin, silentLogger, type KafkaAdmin, type KafkaConnection } from '@pushtech/runtime';
import { runToEnd } from './child-process.js';
import { DiskPressureUnavailableError } from './disk-pressure.js';
import { cacheDir } from './paths.js';
import { recordProcesses, sweepStaleStacks } from './leftovers.js';
import { postgresBinDir, startThrowawayPostgres } from './postgres-server.js';
import { freePort } from './ports.js';
import { killThrowawayStack, startStack } from './stack.js';

export interface TestInfra {
  readonly redisUrl: string;
  readonly kafkaBrokers: string;
}

/** The part of node:test's TestContext the helpers need (also satisfied by a suite's hooks). */
export interface Cleanup {
  after(fn: () => Promise<void> | void): void;
}

let privateStack: Promise<TestInfra> | undefined;

export function testInfra(): Promise<TestInfra> {
  const redisUrl = process.env['PUSHTECH_TEST_REDIS_URL'];
  const kafkaBrokers = process.env['PUSHTECH_TEST_KAFKA_BROKERS'];
  if (redisUrl && kafkaBrokers) return Promise.resolve({ redisUrl, kafkaBrokers });
  privateStack ??= startPrivateStack();
  return privateStack;
}

async function startPrivateStack(): Promise<TestInfra> {
  const log = (line: string): void => void process.stderr.write(`testing: ${line}\n`);
  await sweepStaleStacks(tmpdir(), log);
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-test-'));
  const stack = await startStack({
    dir,
    cacheRoot: cacheDir(process.env),
    redisPort: await freePort(),
    kafkaPort: await freePort(),
    controllerPort: await freePort(),
    topics: [],
    redisAppendOnly: false,
    kafkaHeapMb: 384,
    // The stack must not keep a finished test process alive; 'exit' below removes it.
    holdsEventLoop: false,
    log,
  });
  // A test process ends abruptly; a throw-away stack can be killed outright. The runner stops
  // a timed-out test file with SIGTERM, which skips 'exit' handlers, hence the signal hooks.
  const removeStack = (): void => killThrowawayStack(stack, dir);
  process.once('exit', removeStack);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      removeStack();
      process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
    });
  }
  return { redisUrl: stack.redisUrl, kafkaBrokers: stack.kafkaBrokers };
}

let privatePostgres: Promise<string> | undefined;

/**
 * The test run's PostgreSQL (`PUSHTECH_TEST_POSTGRES_URL`, started by `npm test`), or, for a
 * test file run on its own, a private one removed when the process ends.
 */
export function testPostgresUrl(): Promise<string> {
  const url = process.env['PUSHTECH_TEST_POSTGRES_URL'];
  if (url) return Promise.resolve(url);
  privatePostgres ??= startPrivatePostgres();
  return privatePostgres;
}

async function startPrivatePostgres(): Promise<string> {
  const log = (line: string): void => void process.stderr.write(`testing: ${line}\n`);
  await sweepStaleStacks(tmpdir(), log);
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-test-'));
  const server = await startThrowawayPostgres(dir, await freePort());
  server.process.unref();
  recordProcesses(dir, [{ name: 'postgres', pid: server.process.pid }]);
  const remove = (): void => {
    try {
      process.kill(server.process.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', remove);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      remove();
      process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
    });
  }
  return server.url;
}

/**
 * A fresh database for one test on the run's PostgreSQL (its URL), dropped when the test ends.
 */
export async function testDatabase(t: Cleanup, prefix = 'test'): Promise<string> {
  const server = await testPostgresUrl();
  const name = uniqueName(prefix)
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  await psql(server, `create database ${name}`);
  t.after(() => psql(server, `drop database if exists ${name} with (force)`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function psql(url: string, sql: string): Promise<void> {
  const answer = await runToEnd(path.join(postgresBinDir(), 'psql'), ['-XAtqc', sql, '-d', url]);
  if (answer.code !== 0) throw new Error(`psql ${sql}: ${answer.text.trim()}`);
}

/** A name no other test (or earlier run) uses: `<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60)}-${randomBytes(5).toString('hex')}`;
}

export async function testKafka(): Promise<KafkaConnection> {
  const infra = await testInfra();
  return { brokers: [infra.kafkaBrokers], clientId: uniqueName('test') };
}

/** An admin client for one test, disconnected when the test ends. */
export async function testAdmin(t: Cleanup): Promise<KafkaAdmin> {
  const admin = createAdmin(await testKafka(), silentLogger());
  await admin.connect();
  t.after(() => admin.disconnect());
  return admin;
}

/** A fresh topic for one test, deleted when the test ends. */
export async function freshTopic(t: Cleanup, options: { prefix?: string; partitions?: number } = {}): Promise<string> {
  const topic = uniqueName(options.prefix ?? 'test');
  const admin = createAdmin(await testKafka(), silentLogger());
  await admin.connect();
  try {
    await admin.ensureTopics([{ topic, partitions: options.partitions ?? 3 }]);
  } finally {
    await admin.disconnect();
  }
  t.after(async () => {
    const cleanup = createAdmin(await testKafka(), silentLogger());
    await cleanup.connect();
    try {
      await cleanup.deleteTopics([topic]);
    } finally {
      await cleanup.disconnect();
    }
  });
  return topic;
}

export interface TestRedis {
  readonly client: Redis;
  readonly url: string;
  /** A unique key name; the key is deleted when the test ends. */
  key(name: string): string;
}

/** A Redis client for one test; it is closed and the test's keys are deleted at the end. */
export async function testRedis(t: Cleanup): Promise<TestRedis> {
  const { redisUrl } = await testInfra();
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await client.connect();
  const keys: string[] = [];
  t.after(async () => {
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });
  return {
    client,
    url: redisUrl,
    key(name) {
      const key = uniqueName(`test:${name}`);
      keys.push(key);
      return key;
    },
  };
}

/** Polls `probe` until it returns a value, instead of sleeping a fixed time. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The part of node:test's TestContext that skips a test. */
export interface Skippable {
  skip(message?: string): void;
}

/**
 * Runs a test body that fills a small filesystem or stalls a disk, which needs root (tmpfs,
 * freezer cgroup); on a machine that cannot, the test is skipped with the reason, not failed.
 */
export async function skipWithoutDiskPressure(t: Skippable, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error: unknown) {
    if (error instanceof DiskPressureUnavailableError) t.skip(error.message);
    else throw error;
  }
}
export { startPrivateUp, type PrivateUp, type PrivateUpPorts } from './private-up.js';
export { startTestCluster, TEST_CLUSTER_HEAP_MB } from './test-cluster.js';
export { packagesLoaded } from './loaded-packages.js';

/**
 * How the browser tests launch Debian's headless Chromium (playwright-core's `chromium.launch`):
 * as root without a sandbox, and without the background connections this machine's closed
 * network refuses. CHROMIUM_PATH overrides the binary.
 */
export function chromiumLaunchOptions(): { executablePath: string; args: string[] } {
  return {
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  };
}
