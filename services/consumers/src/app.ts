import { ConsumerService, type AnyConsumerDefinition } from '@pushtech/consumer-kit';
import { startOpsServer, type Env, type Logger, type OpsServer, type Registry } from '@pushtech/runtime';
import { selectConsumers, type ConsumersConfig } from './config.js';
import { builtInConsumers } from './consumers/index.js';

export interface ConsumersApp {
  readonly service: ConsumerService;
  /** Starts the consumers, then the ops server (/healthz, /readyz, /metrics). */
  start(): Promise<OpsServer>;
}

/**
 * Builds the selected consumers without connecting: every setting (the consumers' own too) is
 * validated here, so a bad value stops the process before it touches Kafka.
 */
export function createConsumersApp(options: {
  config: ConsumersConfig;
  env: Env;
  logger: Logger;
  registry: Registry;
  available?: readonly AnyConsumerDefinition[];
}): ConsumersApp {
  const { config, logger, registry } = options;
  const definitions = selectConsumers(config, options.available ?? builtInConsumers);
  const service = new ConsumerService({ definitions, config, env: options.env, logger, registry });
  return {
    service,
    async start() {
      await service.start();
      return startOpsServer({
        host: config.CONSUMERS_HOST,
        port: config.CONSUMERS_PORT,
        probes: service.probes,
        registry,
        logger,
      });
    },
  };
}
