import { createMetricsRegistry, runService } from '@pushtech/runtime';
import { createConsumersApp } from './app.js';
import { consumersConfig } from './config.js';

// Entrypoint: reads the environment once, wires the parts, starts consuming.
await runService({
  name: 'consumers',
  settings: (env) => consumersConfig(env),
  start: async ({ config, env, logger, lifecycle }) => {
    const registry = createMetricsRegistry('consumers');
    const app = createConsumersApp({ config, env, logger, registry });
    const { service } = app;
    lifecycle.onShutdownStart(() => service.probes.markShuttingDown());
    // Stop steps run in reverse: the ops server first, then the consumers (each finishes and
    // commits its batch, leaves its group), Redis, and the dead-letter producer last.
    lifecycle.onStop('consumers', () => service.stop());
    service.onFatal((error, consumer) => lifecycle.fail(error, `consumer ${consumer}`));
    const ops = await app.start();
    lifecycle.onStop('ops server', () => ops.close());
    logger.info({ port: ops.port, consumers: service.runners.map((r) => r.name) }, 'consumers running');
  },
});
