/**
 * The runtime kit without its Kafka module: for a service that never talks to Kafka (the
 * tracker). Loading the two Kafka clients costs a process about 40-50 MB of resident memory
 * (an idle tracker: 122-125 -> 81-84 MB) and half its start-up time, so such a service imports
 * `@pushtech/runtime/core`, not the index.
 */
export * from './errors.js';
export * from './redaction.js';
export * from './dotenv.js';
export * from './config.js';
export * from './common-settings.js';
export * from './redis-settings.js';
export * from './message-settings.js';
export * from './logger.js';
export * from './metrics.js';
export * from './probes.js';
export * from './ops-http.js';
export * from './lifecycle.js';
export * from './service.js';
