import {
  Probes,
  createMetricsRegistry,
  kafkaConnectionFrom,
  startOpsServer,
  type Lifecycle,
  type Logger,
} from '@pushtech/runtime';
import { DashboardAuth } from './auth.js';
import type { KafidxConfig } from './config.js';
import { createDeadLetterFeed } from './dead-letters.js';
import { HealthMonitor } from './health-monitor.js';
import { healthTargets } from './health-targets.js';
import { InsightsSource } from './insights.js';
import { Hub } from './hub.js';
import { LoginThrottle, trustedProxies } from './login-throttle.js';
import { createKafidxMetrics } from './metrics.js';
import { createDashboardServer } from './server.js';

export interface RunningKafidx {
  /** The browser-facing listener: the page, /login, /logout, /ws. */
  readonly port: number;
  /** /metrics, /healthz, /readyz. */
  readonly opsPort: number;
  stop(): Promise<void>;
}

/**
 * Composes kafidx: the live Kafka consumer, the browser-facing HTTP + WebSocket server, and the
 * ops listener (probes, metrics) on a port of its own that needs no session and is not exposed
 * to browsers.
 */
export async function startKafidx(
  config: KafidxConfig,
  token: string,
  logger: Logger,
  lifecycle?: Lifecycle,
): Promise<RunningKafidx> {
  const registry = createMetricsRegistry('kafidx');
  const metrics = createKafidxMetrics(registry);
  const connection = kafkaConnectionFrom(config, 'kafidx');
  const hub = new Hub(connection, config.KAFKA_TOPIC, logger, metrics, {
    maxWaitMs: config.KAFIDX_FETCH_MAX_WAIT_MS,
    minBytes: config.KAFIDX_FETCH_MIN_BYTES,
  });
  const probes = new Probes().add({ name: 'kafka', check: () => hub.running || 'the live consumer is not running' });
  const deadLetters = createDeadLetterFeed(config, connection, logger);
  const health = new HealthMonitor({
    targets: healthTargets(config.KAFIDX_HEALTH_TARGETS),
    intervalMs: config.KAFIDX_HEALTH_INTERVAL_MS,
    metrics,
    logger,
  });
  const insights = config.POSTGRES_URL === '' ? undefined : new InsightsSource(config.POSTGRES_URL, logger);
  const dashboard = createDashboardServer({
    hub,
    deadLetters,
    health,
    insights,
    auth: new DashboardAuth(token, {
      secureCookie: config.KAFIDX_COOKIE_SECURE,
      ttlSeconds: config.KAFIDX_SESSION_TTL_SECONDS,
    }),
    loginThrottle: new LoginThrottle(config.KAFIDX_LOGIN_FAILURES_PER_MINUTE),
    trustedProxies: trustedProxies(config.KAFIDX_TRUSTED_PROXIES),
    publicOrigin: config.KAFIDX_PUBLIC_ORIGIN,
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
      perMinute: config.KAFIDX_REPLAYS_PER_MINUTE,
    },
    metrics,
    logger,
  });
  if (lifecycle) hub.onCrash((error) => lifecycle.fail(error, 'live Kafka consumer'));
  await hub.start();
  deadLetters.start();
  const port = await dashboard.listen(config.KAFIDX_HOST, config.KAFIDX_PORT);
  const ops = await startOpsServer({
    host: config.KAFIDX_HOST,
    port: config.KAFIDX_OPS_PORT,
    probes,
    registry,
    logger,
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      probes.markShuttingDown();
      await dashboard.close();
      await hub.stop();
      await deadLetters.stop();
      await health.stop();
      await insights?.close();
      await ops.close();
    })());
  lifecycle?.onStop('kafidx', stop);
  return { port, opsPort: ops.port, stop };
}
