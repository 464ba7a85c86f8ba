import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { cacheDir } from '@pushtech/devstack';
import { startTestCluster, testInfra } from '@pushtech/devstack/testing';
import type { ChaosEnvironment } from '../src/scenario.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The environment a chaos test file's scenarios run in, set up by the suite's `before` hook:
 * the test run's broker, or a three-node cluster that the file's scenarios share (`cluster:
 * true`, stopped by the `after` hook); a work folder removed by the `after` hook, and logs only
 * with CHAOS_VERBOSE. Call it in a `describe` body; the object is filled in before the first
 * test runs.
 */
export function useChaosEnvironment(prefix: string, options: { cluster?: boolean } = {}): ChaosEnvironment {
  const env: Writable<ChaosEnvironment> = {
    sharedBrokers: '',
    cacheRoot: cacheDir(process.env),
    workDir: '',
    log: (line) => {
      if (process.env['CHAOS_VERBOSE']) console.log(`  ${line}`);
    },
  };
  const cleanups: (() => Promise<void> | void)[] = [];
  // A cluster took up to 3 min to answer with the shared machine at a load average of 50.
  before(
    async () => {
      if (options.cluster === true) {
        const cluster = await startTestCluster({ after: (fn) => cleanups.push(fn) });
        env.sharedCluster = cluster;
        env.sharedBrokers = cluster.brokers;
      } else {
        env.sharedBrokers = (await testInfra()).kafkaBrokers;
      }
      env.workDir = mkdtempSync(path.join(tmpdir(), prefix));
    },
    { timeout: 900_000 },
  );
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    if (env.workDir) rmSync(env.workDir, { recursive: true, force: true });
  });
  return env;
}
