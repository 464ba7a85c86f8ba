import { Lifecycle, createLogger, createMetricsRegistry, describeError, loadEnv } from '@pushtech/runtime';
import { createConsumersApp } from './app.js';
import { consumersConfig } from './config.js';

// Entrypoint: reads the environment once, wires the parts, starts consuming.
function startupFailure(error: unknown): never {
  process.stderr.write(`${describeError(error)}\n`);
  process.exit(1);
}

const env = loadEnv({ processEnv: process.env, cwd: process.cwd() });
let config;
try {
  config = consumersConfig(env);
} catch (error: unknown) {
  startupFailure(error);
}
const logger = createLogger({ service: 'consumers', level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const registry = createMetricsRegistry('consumers');
let app;
try {
  app = createConsumersApp({ config, env, logger, registry });
} catch (error: unknown) {
  startupFailure(error);
}
const { service } = app;

const lifecycle = new Lifecycle({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  onShutdownStart: () => service.probes.markShuttingDown(),
});
// Stop steps run in reverse: the ops server first, then the consumers (each finishes and
// commits its batch, leaves its group), Redis, and the dead-letter producer last.
lifecycle.onStop('consumers', () => service.stop());
service.onFatal((error, consumer) => lifecycle.fail(error, `consumer ${consumer}`));
lifecycle.installSignalHandlers();

app.start().then(
  (ops) => {
    lifecycle.onStop('ops server', () => ops.close());
    logger.info({ port: ops.port, consumers: service.runners.map((r) => r.name) }, 'consumers running');
  },
  (error: unknown) => lifecycle.fail(error, 'start'),
);
