import { randomBytes } from 'node:crypto';
import { ConfigError, Lifecycle, createLogger, loadEnv } from '@pushtech/runtime';
import { startKafidx } from './app.js';
import { kafidxConfig, type KafidxConfig } from './config.js';

function configure(): KafidxConfig {
  try {
    return kafidxConfig(loadEnv({ processEnv: process.env, cwd: process.cwd() }));
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

const config = configure();
const logger = createLogger({ service: 'kafidx', level: config.LOG_LEVEL, format: config.LOG_FORMAT });

let token = config.KAFIDX_TOKEN;
if (token === '') {
  if (config.NODE_ENV === 'production') {
    logger.fatal('KAFIDX_TOKEN is required in production: set it to a secret of 16+ characters');
    process.exit(1);
  }
  // Local runs get a fresh token each start; the login URL below carries it.
  token = randomBytes(24).toString('base64url');
}

const lifecycle = new Lifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }).installSignalHandlers();
startKafidx(config, token, logger, lifecycle).then(
  ({ port }) => {
    const host = config.KAFIDX_HOST === '0.0.0.0' ? '127.0.0.1' : config.KAFIDX_HOST;
    if (config.KAFIDX_TOKEN === '') {
      process.stdout.write(`\nkafidx dashboard: http://${host}:${port}/login?token=${token}\n\n`);
    }
    logger.info({ port, topic: config.KAFKA_TOPIC }, 'kafidx listening');
  },
  (error: unknown) => {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'kafidx failed to start');
    process.exit(1);
  },
);
