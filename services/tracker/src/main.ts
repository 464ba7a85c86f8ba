import { fileURLToPath } from 'node:url';
import { ConfigError, runService } from '@pushtech/runtime/core';
import { startTracker } from './app.js';
import { trackerConfig } from './config.js';
import { WORKER_ENV, assertPortFree, superviseWorkers } from './workers.js';

// Entrypoint: one process serves, or (TRACKER_WORKERS > 1) supervises workers that each serve.
const worker = process.env[WORKER_ENV];
const supervises = (workers: number): boolean => worker === undefined && workers > 1;

await runService({
  name: 'tracker',
  settings: (env) => {
    const config = trackerConfig(env);
    if (supervises(config.TRACKER_WORKERS) && config.TRACKER_PORT === 0) {
      throw new ConfigError('tracker', [
        'TRACKER_PORT=0 cannot be shared by several workers: set a port or TRACKER_WORKERS=1',
      ]);
    }
    return config;
  },
  logBindings: worker === undefined ? {} : { worker: Number(worker) },
  // The supervisor handles signals itself: it stops its workers first.
  stopOn: (config) => (supervises(config.TRACKER_WORKERS) ? 'none' : worker === undefined ? 'signals' : 'supervisor'),
  start: async ({ config, logger, lifecycle }) => {
    if (!supervises(config.TRACKER_WORKERS)) {
      await startTracker(config, logger, lifecycle, { supervised: worker !== undefined });
      return;
    }
    await assertPortFree(config.TRACKER_HOST, config.TRACKER_PORT);
    superviseWorkers(config.TRACKER_WORKERS, fileURLToPath(import.meta.url), logger, {
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    });
  },
});
