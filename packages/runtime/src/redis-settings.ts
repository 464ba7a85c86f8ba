import { setting } from './config.js';

/**
 * The Redis buffer between tracker and kafkastore. The tracker LPUSHes raw hits onto the list
 * `REDIS_QUEUE_KEY`; kafkastore takes the oldest from its tail. Both services read the same
 * variables, so they always agree on the key.
 */
export const redisSettings = {
  /** The Redis holding the buffer: the tracker pushes onto it, kafkastore drains it. */
  REDIS_URL: setting.url({ protocols: ['redis:', 'rediss:'] }),
  /** The list raw hits wait in; the processing lists, writer leases and `:oversized` are named after it. */
  REDIS_QUEUE_KEY: setting.string({
    default: 'pushtech:hits',
    pattern: /^[A-Za-z0-9:._{}-]{1,200}$/,
    accepts: 'a Redis key name ([A-Za-z0-9:._{}-], 1-200 chars)',
  }),
} as const;

/**
 * The sorted set in which every tracker process that may still LPUSH onto `queueKey` keeps a
 * lease (member: writer id, score: the lease's expiry in ms since the epoch). kafkastore's drain
 * on exit ends only once no lease is live, so no ordering of two SIGTERMs strands a write.
 */
export function writersKey(queueKey: string): string {
  return `${queueKey}:writers`;
}
