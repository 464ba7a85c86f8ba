import { randomBytes } from 'node:crypto';
import { ConfigError, runService } from '@pushtech/runtime';
import { startKafidx } from './app.js';
import { kafidxConfig } from './config.js';

// Entrypoint: reads the environment once, starts the dashboard and its ops port.
await runService({
  name: 'kafidx',
  settings: (env) => {
    const config = kafidxConfig(env);
    if (config.KAFIDX_TOKEN === '' && config.NODE_ENV === 'production') {
      throw new ConfigError('kafidx', ['KAFIDX_TOKEN is required in production: set it to a secret of 16+ characters']);
    }
    return config;
  },
  start: async ({ config, logger, lifecycle }) => {
    // Local runs get a fresh token each start; the login URL below carries it.
    const token = config.KAFIDX_TOKEN === '' ? randomBytes(24).toString('base64url') : config.KAFIDX_TOKEN;
    const { port, opsPort } = await startKafidx(config, token, logger, lifecycle);
    const host = config.KAFIDX_HOST === '0.0.0.0' ? '127.0.0.1' : config.KAFIDX_HOST;
    if (config.KAFIDX_TOKEN === '') {
      process.stdout.write(`\nkafidx dashboard: http://${host}:${port}/login?token=${token}\n\n`);
    }
    logger.info({ port, opsPort, topic: config.KAFKA_TOPIC }, 'kafidx listening');
  },
});
