import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { cacheDir } from '@pushtech/devstack';
import { testInfra } from '@pushtech/devstack/testing';
import type { ChaosEnvironment } from '../src/scenario.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The environment a chaos test file's scenarios run in, set up by the suite's `before` hook:
 * the test run's broker (or none: `sharedBroker: false`, for scenarios on a cluster of their
 * own), a work folder removed by its `after` hook, and logs only with CHAOS_VERBOSE. Call it in
 * a `describe` body; the object is filled in before the first test runs.
 */
export function useChaosEnvironment(prefix: string, options: { sharedBroker?: boolean } = {}): ChaosEnvironment {
  const env: Writable<ChaosEnvironment> = {
    sharedBrokers: '',
    cacheRoot: cacheDir(process.env),
    workDir: '',
    log: (line) => {
      if (process.env['CHAOS_VERBOSE']) console.log(`  ${line}`);
    },
  };
  before(async () => {
    if (options.sharedBroker !== false) env.sharedBrokers = (await testInfra()).kafkaBrokers;
    env.workDir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  after(() => {
    if (env.workDir) rmSync(env.workDir, { recursive: true, force: true });
  });
  return env;
}
