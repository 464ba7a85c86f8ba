import { setting } from '../config.js';
import { kafkaClients, type KafkaClient, type KafkaConnection } from './types.js';

/** The environment variables every Kafka-using service shares. */
export const kafkaSettings = {
  /** Bootstrap brokers of the Kafka cluster. */
  KAFKA_BROKERS: setting.hostPorts(),
  /** The topic events are produced to and read from. */
  KAFKA_TOPIC: setting.string({
    pattern: /^[A-Za-z0-9._-]{1,249}$/,
    accepts: 'a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)',
  }),
  /** The dead-letter topic; empty means `<KAFKA_TOPIC>.dlq`. */
  KAFKA_DLQ_TOPIC: setting.string({
    default: '',
    pattern: /^[A-Za-z0-9._-]{0,249}$/,
    accepts: 'a Kafka topic name; empty means <KAFKA_TOPIC>.dlq',
  }),
  /** Prefix of every Kafka client id (`<id>-<service>`) and of the consumers' default group ids. */
  KAFKA_CLIENT_ID: setting.string({ default: 'pushtech' }),
  /** The producer's client library; admin and consumers stay on kafkajs. */
  KAFKA_CLIENT: setting.oneOf(kafkaClients, { default: 'kafkajs' }),
} as const;

/** A service's connection; KAFKA_CLIENT is optional so services that never produce can omit it. */
export function kafkaConnectionFrom(
  config: { KAFKA_BROKERS: readonly string[]; KAFKA_CLIENT_ID: string; KAFKA_CLIENT?: KafkaClient },
  service: string,
): KafkaConnection {
  return {
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-${service}`,
    ...(config.KAFKA_CLIENT ? { client: config.KAFKA_CLIENT } : {}),
  };
}

/** The dead-letter topic: KAFKA_DLQ_TOPIC, or `<KAFKA_TOPIC>.dlq` when unset. */
export function deadLetterTopic(config: { KAFKA_TOPIC: string; KAFKA_DLQ_TOPIC: string }): string {
  return config.KAFKA_DLQ_TOPIC === '' ? `${config.KAFKA_TOPIC}.dlq` : config.KAFKA_DLQ_TOPIC;
}
