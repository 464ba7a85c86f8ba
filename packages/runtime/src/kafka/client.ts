import { Kafka, logLevel, type KafkaConfig, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import type { KafkaConnection } from './types.js';
// Before any kafkajs connection exists: its request queues no longer spin while idle.
import './kafkajs-idle-fix.js';
import './kafkajs-leader-failover.js';
import './kafkajs-stale-socket.js';

/** kafkajs logs go through the service's pino logger, at the same levels. */
function pinoLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafka-client' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      void _timestamp;
      void _name;
      switch (level) {
        case logLevel.ERROR:
        case logLevel.NOTHING:
          // kafkajs logs every error response of the broker at ERROR, also the retriable ones it
          // handles itself (a group coordinator still loading, a leader moving); a real failure
          // still surfaces as a rejected call.
          if (message.startsWith('Response ')) child.warn(extra, message);
          else child.error(extra, message);
          break;
        case logLevel.WARN:
          child.warn(extra, message);
          break;
        case logLevel.INFO:
          child.debug(extra, message);
          break;
        default:
          child.trace(extra, message);
      }
    };
}

/** KAFKA_SSL* and KAFKA_SASL_* as kafkajs takes them (the mechanism names are the same). */
export function kafkajsSecurity(connection: KafkaConnection): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { tls, sasl } = connection.security ?? {};
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (tls) options.ssl = { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) };
  if (sasl?.mechanism === 'plain')
    options.sasl = { mechanism: 'plain', username: sasl.username, password: sasl.password };
  else if (sasl?.mechanism === 'scram-sha-256')
    options.sasl = { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
  else if (sasl?.mechanism === 'scram-sha-512')
    options.sasl = { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  return options;
}

export function createKafkaClient(connection: KafkaConnection, logger: Logger): Kafka {
  return new Kafka({
    ...kafkajsSecurity(connection),
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    connectionTimeout: connection.connectionTimeoutMs ?? 3_000,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: connection.retries ?? 5 },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger),
  });
}
