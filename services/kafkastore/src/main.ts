import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  describeError,
  findDotEnv,
  loadEnv,
  startOpsServer,
} from '@pushtech/runtime';
import { kafkastoreConfig } from './config.js';
import { createKafkastore } from './kafkastore.js';

// Entrypoint: reads the environment once, wires the parts, starts draining.
const cwd = process.cwd();
const dotEnv = findDotEnv(cwd);
const env = loadEnv({ processEnv: process.env, cwd, file: dotEnv });
let config;
try {
  // Relative GEOIP_DB paths are written in .env, so they are read relative to it.
  config = kafkastoreConfig(env, { baseDir: dotEnv && existsSync(dotEnv) ? path.dirname(dotEnv) : cwd });
} catch (error: unknown) {
  process.stderr.write(`${describeError(error)}\n`);
  process.exit(1);
}

const logger = createLogger({ service: 'kafkastore', level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const registry = createMetricsRegistry('kafkastore');
const app = await createKafkastore({ config, logger, registry }).catch((error: unknown) => {
  logger.fatal({ err: describeError(error) }, 'cannot start');
  logger.flush();
  process.exit(1);
});
const lifecycle = new Lifecycle({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdownStart: () => app.probes.markShuttingDown(),
});
// Stop steps run in reverse: the drain loop first, the Kafka producer last.
for (const closer of app.closers) lifecycle.onStop(closer.name, () => closer.close());
const ops = await startOpsServer({
  host: config.KAFKASTORE_HOST,
  port: config.KAFKASTORE_PORT,
  probes: app.probes,
  registry,
  logger,
});
lifecycle.onStop('ops server', () => ops.close());
lifecycle.onStop('drain loop', () => app.stopDraining());
lifecycle.installSignalHandlers();
logger.info({ port: ops.port }, 'ops server listening');

app.run().then(
  () => {
    if (!lifecycle.isStopping) lifecycle.fail(new Error('the drain loop ended on its own'), 'drain loop');
  },
  (error: unknown) => lifecycle.fail(error, 'drain loop'),
);
