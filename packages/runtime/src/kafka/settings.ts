import { setting } from '../config.js';
import { kafkaSecurityFrom, type KafkaSecurityConfig } from './security.js';
import { kafkaClients, kafkaSaslMechanisms, type KafkaClient, type KafkaConnection } from './types.js';

/**
 * TLS and SASL to the brokers, the same for every Kafka client a service opens (producer,
 * admin, consumers; kafkajs and @platformatic/kafka). Files are read once at start.
 */
export const kafkaSecuritySettings = {
  /** TLS to the brokers (an SSL or SASL_SSL listener). */
  KAFKA_SSL: setting.boolean({ default: false }),
  /** PEM file of the CA(s) that signed the brokers' certificates; empty: the system's CAs. */
  KAFKA_SSL_CA: setting.string({
    default: '',
    pattern: /.*/,
    accepts: 'the path of a PEM CA certificate file',
    path: true,
  }),
  /** PEM client certificate for mutual TLS (with KAFKA_SSL_KEY); empty: no client certificate. */
  KAFKA_SSL_CERT: setting.string({ default: '', pattern: /.*/, accepts: 'the path of a PEM certificate', path: true }),
  /** Unencrypted PEM private key of KAFKA_SSL_CERT. */
  KAFKA_SSL_KEY: setting.string({ default: '', pattern: /.*/, accepts: 'the path of a PEM private key', path: true }),
  /** SASL login mechanism; none: no login (TLS client certificates or plaintext). */
  KAFKA_SASL_MECHANISM: setting.oneOf(['none', ...kafkaSaslMechanisms], { default: 'none' }),
  /** The SASL user (required with a mechanism). */
  KAFKA_SASL_USERNAME: setting.string({ default: '', pattern: /.*/, accepts: 'a SASL user name' }),
  /** The SASL user's password (required with a mechanism); never printed. */
  KAFKA_SASL_PASSWORD: setting.string({ default: '', pattern: /.*/, accepts: 'a SASL password', secret: true }),
} as const;

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
  KAFKA_CLIENT: setting.oneOf(kafkaClients, { default: 'platformatic' }),
  ...kafkaSecuritySettings,
} as const;

/**
 * A service's connection; KAFKA_CLIENT is optional so services that never produce can omit it.
 * The TLS and SASL settings are read here (the files named by them too): a missing or
 * unreadable file, or settings that do not go together, throw a ConfigError naming the setting.
 */
export function kafkaConnectionFrom(
  config: {
    KAFKA_BROKERS: readonly string[];
    KAFKA_CLIENT_ID: string;
    KAFKA_CLIENT?: KafkaClient;
  } & Partial<KafkaSecurityConfig>,
  service: string,
): KafkaConnection {
  const security = kafkaSecurityFrom(config, service);
  return {
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-${service}`,
    ...(config.KAFKA_CLIENT ? { client: config.KAFKA_CLIENT } : {}),
    ...(security ? { security } : {}),
  };
}

/** The dead-letter topic: KAFKA_DLQ_TOPIC, or `<KAFKA_TOPIC>.dlq` when unset. */
export function deadLetterTopic(config: { KAFKA_TOPIC: string; KAFKA_DLQ_TOPIC: string }): string {
  return config.KAFKA_DLQ_TOPIC === '' ? `${config.KAFKA_TOPIC}.dlq` : config.KAFKA_DLQ_TOPIC;
}
