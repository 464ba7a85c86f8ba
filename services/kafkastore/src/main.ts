import { createMetricsRegistry, runService, startOpsServer } from '@pushtech/runtime';
import { createKafkastore } from './app.js';
import { kafkastoreConfig } from './config.js';

// Entrypoint: reads the environment once, wires the parts, starts draining.
await runService({
  name: 'kafkastore',
  // A relative GEOIP_DB from .env is read against the .env's directory (loadEnv records it).
  settings: (env, cwd) => kafkastoreConfig(env, { baseDir: cwd }),
  start: async ({ config, logger, lifecycle }) => {
    const registry = createMetricsRegistry('kafkastore');
    const app = await createKafkastore({ config, logger, registry });
    lifecycle.onShutdownStart(() => app.probes.markShuttingDown());
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
    logger.info({ port: ops.port }, 'ops server listening');
    app.run().then(
      () => {
        if (!lifecycle.isStopping) lifecycle.fail(new Error('the drain loop ended on its own'), 'drain loop');
      },
      (error: unknown) => lifecycle.fail(error, 'drain loop'),
    );
  },
});
