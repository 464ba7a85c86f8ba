import { setting } from './config.js';
import { logFormats, logLevels } from './logger.js';

/** Settings every service reads, whatever its job. */
export const commonSettings = {
  /** With `production` kafidx refuses to start without KAFIDX_TOKEN; `.env` sets `development` for local runs. */
  NODE_ENV: setting.oneOf(['development', 'test', 'production'], { default: 'production' }),
  /** The least severe pino level logged. */
  LOG_LEVEL: setting.oneOf(logLevels, { default: 'info' }),
  /** `json` lines for production; `pretty` for people, in development. */
  LOG_FORMAT: setting.oneOf(logFormats, { default: 'json' }),
  /** Bounded time for a graceful stop before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: setting.integer({ min: 100, max: 600_000, default: 25_000 }),
} as const;
