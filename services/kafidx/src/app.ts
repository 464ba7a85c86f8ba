import { Probes, createMetricsRegistry, kafkaConnectionFrom, type Lifecycle, type Logger } from '@pushtech/runtime';
import { DashboardAuth } from './auth.js';
import type { KafidxConfig } from './config.js';
import { Hub } from './hub.js';
import { createKafidxMetrics } from './metrics.js';
import { createDashboardServer } from './server.js';

export interface RunningKafidx {
  readonly port: number;
  stop(): Promise<void>;
}

/** Composes kafidx: the live Kafka consumer, the HTTP + WebSocket server, probes, metrics. */
export async function startKafidx(
  config: KafidxConfig,
  token: string,
  logger: Logger,
  lifecycle?: Lifecycle,
): Promise<RunningKafidx> {
  const registry = createMetricsRegistry('kafidx');
  const metrics = createKafidxMetrics(registry);
  const connection = kafkaConnectionFrom(config, 'kafidx');
  const hub = new Hub(connection, config.KAFKA_TOPIC, logger, metrics);
  const probes = new Probes().add({ name: 'kafka', check: () => hub.running || 'the live consumer is not running' });
  const dashboard = createDashboardServer({
    hub,
    auth: new DashboardAuth(token, config.KAFIDX_COOKIE_SECURE),
    allowedOrigins: config.KAFIDX_ALLOWED_ORIGINS,
    limits: {
      maxEventsPerSecond: config.KAFIDX_MAX_EVENTS_PER_SECOND,
      maxBufferedBytes: config.KAFIDX_MAX_BUFFERED_BYTES,
    },
    replay: {
      connection,
      topic: config.KAFKA_TOPIC,
      maxMinutes: config.KAFIDX_REPLAY_MAX_MINUTES,
      maxEvents: config.KAFIDX_REPLAY_MAX_EVENTS,
    },
    probes,
    registry,
    metrics,
    logger,
  });
  if (lifecycle) hub.onCrash((error) => lifecycle.fail(error, 'live Kafka consumer'));
  await hub.start();
  const port = await dashboard.listen(config.KAFIDX_HOST, config.KAFIDX_PORT);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      probes.markShuttingDown();
      await dashboard.close();
      await hub.stop();
    })());
  lifecycle?.onStop('kafidx', stop);
  return { port, stop };
}
