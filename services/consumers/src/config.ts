import { consumerKitSettings, type AnyConsumerDefinition } from '@pushtech/consumer-kit';
import { ConfigError, parseConfig, setting, type ConfigOf, type Env } from '@pushtech/runtime';

export const consumersSettings = {
  ...consumerKitSettings,
  /** Address the ops listener (/healthz, /readyz, /metrics) binds to. */
  CONSUMERS_HOST: setting.string({ default: '0.0.0.0' }),
  /** Port of the ops listener; 0 picks a free one. */
  CONSUMERS_PORT: setting.port({ default: 8382, allowZero: true }),
  /** One consumer per process, as in the original deployment (one Deployment per consumer). */
  CONSUMER_NAME: setting.string({
    default: '',
    pattern: /^[a-z][a-z0-9_]*$/,
    accepts: 'a consumer name (e.g. event_counter)',
  }),
  /** Several consumers in one process (local use): names, or `all`. Ignored when CONSUMER_NAME is set. */
  CONSUMERS: setting.list({ item: /^[a-z][a-z0-9_]*$/, accepts: 'a comma-separated list of consumer names, or all' }),
} as const;

export type ConsumersConfig = ConfigOf<typeof consumersSettings>;

export function consumersConfig(env: Env): ConsumersConfig {
  return parseConfig('consumers', consumersSettings, env);
}

/** The consumers this process runs: CONSUMER_NAME, else CONSUMERS (`all` for every one). */
export function selectConsumers(
  config: Pick<ConsumersConfig, 'CONSUMER_NAME' | 'CONSUMERS'>,
  available: readonly AnyConsumerDefinition[],
): AnyConsumerDefinition[] {
  const known = available.map((d) => d.name).join(', ');
  const [variable, names] =
    config.CONSUMER_NAME !== '' ? ['CONSUMER_NAME', [config.CONSUMER_NAME]] : ['CONSUMERS', config.CONSUMERS];
  if (names.length === 0) {
    throw new ConfigError('consumers', [
      `CONSUMER_NAME and CONSUMERS are unset: set CONSUMER_NAME to one of ${known}, or CONSUMERS=all`,
    ]);
  }
  if (names.includes('all')) return [...available];
  const unknown = names.filter((n) => !available.some((d) => d.name === n));
  if (unknown.length > 0) {
    throw new ConfigError('consumers', [
      `${variable}=${JSON.stringify(names.join(','))}: unknown consumer ${unknown.join(', ')}; known: ${known}`,
    ]);
  }
  return names.map((n) => available.find((d) => d.name === n) as AnyConsumerDefinition);
}
