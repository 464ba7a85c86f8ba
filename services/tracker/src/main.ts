import { fileURLToPath } from 'node:url';
import { ConfigError, Lifecycle, createLogger, loadEnv } from '@pushtech/runtime';
import { startTracker } from './app.js';
import { trackerConfig, type TrackerConfig } from './config.js';
import { WORKER_ENV, superviseWorkers } from './workers.js';

function configure(): TrackerConfig {
  try {
    return trackerConfig(loadEnv({ processEnv: process.env, cwd: process.cwd() }));
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

const config = configure();
const worker = process.env[WORKER_ENV];
const logger = createLogger({
  service: 'tracker',
  level: config.LOG_LEVEL,
  format: config.LOG_FORMAT,
}).child(worker === undefined ? {} : { worker: Number(worker) });

if (worker === undefined && config.TRACKER_WORKERS > 1) {
  if (config.TRACKER_PORT === 0) {
    logger.fatal('TRACKER_PORT=0 cannot be shared by several workers; set a port or TRACKER_WORKERS=1');
    process.exit(1);
  }
  superviseWorkers(config.TRACKER_WORKERS, fileURLToPath(import.meta.url), logger);
} else {
  const lifecycle = new Lifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }).installSignalHandlers();
  // A worker whose supervisor is gone (even by SIGKILL) stops too, instead of living on orphaned.
  if (worker !== undefined) process.once('disconnect', () => void lifecycle.shutdown('supervisor exited'));
  startTracker(config, logger, lifecycle).catch((error: unknown) => {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'tracker failed to start');
    process.exit(1);
  });
}
