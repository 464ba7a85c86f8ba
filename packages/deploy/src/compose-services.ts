import { parseConfig, type Env } from '@pushtech/runtime';
import { devstackSettings } from '@pushtech/devstack';
import { consumersConfig, consumersSettings, selectConsumers } from '@pushtech/consumers/config';
import { builtInConsumers } from '@pushtech/consumers/built-in';
import { kafidxConfig, kafidxSettings } from '@pushtech/kafidx/config';
import { kafkastoreConfig, kafkastoreSettings } from '@pushtech/kafkastore/config';
import { trackerConfig, trackerSettings } from '@pushtech/tracker/config';

/**
 * What each deployable accepts, taken from its own code: the keys of its settings schemas and
 * the config function its entrypoint calls. The deployment checks use these, so a variable or
 * value in a compose file is judged by the service that reads it, not by a copy of its rules.
 */
export interface ServiceSpec {
  /** Every variable the service reads. */
  readonly knownKeys: readonly string[];
  /** The variable holding the port the service listens on, if it serves one. */
  readonly portKey?: string;
  /** The variable of the port /healthz is on, when it is not portKey (an ops listener). */
  readonly healthPortKey?: string;
  /** Throws (a ConfigError naming the variable) when the service would refuse to start. */
  validate(env: Env, cwd: string): void;
  /** Folders the service writes to, given its environment. */
  writablePaths?(env: Env): readonly string[];
  /** Files it reads, given its environment (absolute paths inside the container). */
  readPaths?(env: Env, cwd: string): readonly string[];
}

/** Where the images put the repository (the WORKDIR of the Dockerfiles). */
export const IMAGE_ROOT = '/app';

/** The deployables, by folder name under services/. */
export const serviceSpecs: Readonly<Record<string, ServiceSpec>> = {
  tracker: {
    knownKeys: Object.keys(trackerSettings),
    portKey: 'TRACKER_PORT',
    validate: (env) => void trackerConfig(env),
  },
  kafkastore: {
    knownKeys: Object.keys(kafkastoreSettings),
    portKey: 'KAFKASTORE_PORT',
    // An image has no .env file, so relative GEOIP_DB paths start at the working directory.
    validate: (env, cwd) => void kafkastoreConfig(env, { baseDir: cwd }),
    readPaths: (env, cwd) => kafkastoreConfig(env, { baseDir: cwd }).GEOIP_DB,
  },
  consumers: {
    knownKeys: [
      ...Object.keys(consumersSettings),
      ...builtInConsumers.flatMap((definition) => Object.keys(definition.settings ?? {})),
    ],
    portKey: 'CONSUMERS_PORT',
    // As the runner does at start-up: the process config, then each selected consumer's own settings.
    validate: (env) => {
      for (const definition of selectConsumers(consumersConfig(env), builtInConsumers)) {
        parseConfig(`consumer ${definition.name}`, definition.settings ?? {}, env);
      }
    },
    writablePaths: (env) =>
      selectConsumers(consumersConfig(env), builtInConsumers).some((d) => d.name === 'archiver')
        ? [env['ARCHIVE_DIR'] ?? '']
        : [],
  },
  kafidx: {
    knownKeys: Object.keys(kafidxSettings),
    portKey: 'KAFIDX_PORT',
    healthPortKey: 'KAFIDX_OPS_PORT',
    validate: (env) => {
      const config = kafidxConfig(env);
      // services/kafidx/src/main.ts stops in production without a token.
      if (config.NODE_ENV === 'production' && config.KAFIDX_TOKEN === '') {
        throw new Error('KAFIDX_TOKEN is required in production');
      }
    },
  },
};

// The topic job does what the devstack does: the topics of pipelineTopics(), named and sized by
// the same variables, on the broker of KAFKA_BROKERS.
const { KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC, KAFKA_TOPIC_PARTITIONS } = devstackSettings;
const topicJobSettings = { KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC, KAFKA_TOPIC_PARTITIONS };

/** Compose services that read the repository's .env but run no image of ours, by service name. */
export const jobSpecs: Readonly<Record<string, ServiceSpec>> = {
  'kafka-topics': {
    knownKeys: Object.keys(topicJobSettings),
    validate: (env) => void parseConfig('kafka-topics', topicJobSettings, env),
  },
};
