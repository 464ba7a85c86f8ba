import { setting } from './config.js';

/**
 * The Redis buffer between tracker and kafkastore. The tracker LPUSHes raw hits onto the list
 * `REDIS_QUEUE_KEY`; kafkastore takes the oldest from its tail. Both services read the same
 * variables, so they always agree on the key.
 */
export const redisSettings = {
  REDIS_URL: setting.url({ protocols: ['redis:', 'rediss:'] }),
  REDIS_QUEUE_KEY: setting.string({
    default: 'pushtech:hits',
    pattern: /^[A-Za-z0-9:._{}-]{1,200}$/,
    accepts: 'a Redis key name ([A-Za-z0-9:._{}-], 1-200 chars)',
  }),
} as const;
