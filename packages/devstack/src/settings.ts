import { kafkaSettings, setting, type TopicSpec } from '@pushtech/runtime';
import { replicationFor } from './kafka-broker.js';

/** What the devstack reads from the environment (and .env) to lay out the local pipeline. */
export const devstackSettings = {
  /** Where the local buffer Redis is started (the tracker's and kafkastore's REDIS_URL). */
  REDIS_URL: setting.url({ protocols: ['redis:'], default: 'redis://127.0.0.1:6380' }),
  /**
   * The consumers' own Redis (counters, dedup state), apart from the tracker's buffer so that no
   * consumer can fill it; the devstack gives it to the consumers as their REDIS_URL.
   */
  CONSUMERS_REDIS_URL: setting.url({ protocols: ['redis:'], default: 'redis://127.0.0.1:6381' }),
  /**
   * The PostgreSQL sink's database: `npm start` starts a PostgreSQL of its own on this URL's
   * port (Debian's `postgresql`, data in `.devstack/postgres`) and hands its URL to the services.
   */
  POSTGRES_URL: setting.string({
    default: 'postgres://pushtech@127.0.0.1:5440/pushtech',
    pattern: /^postgres(ql)?:\/\/\S+$/,
    accepts: 'a URL starting with postgres:// or postgresql://',
    secret: true,
  }),
  KAFKA_BROKERS: kafkaSettings.KAFKA_BROKERS,
  KAFKA_TOPIC: kafkaSettings.KAFKA_TOPIC,
  KAFKA_DLQ_TOPIC: kafkaSettings.KAFKA_DLQ_TOPIC,
  /** Partitions of the events topic the devstack creates. */
  KAFKA_TOPIC_PARTITIONS: setting.integer({ min: 1, max: 1000, default: 6 }),
  /** The local KRaft broker's controller port. */
  DEVSTACK_KAFKA_CONTROLLER_PORT: setting.port({ default: 19093 }),
  /**
   * Heap of each local Kafka node's JVM, in MB. With three nodes `npm start` gives each at most
   * 512 MB (3 x 512 MB beside the services and tests on a 2-core, 24 GiB machine).
   */
  DEVSTACK_KAFKA_HEAP_MB: setting.integer({ min: 128, max: 16_384, default: 512 }),
  /**
   * Local Kafka nodes: 1 (one broker, fast) or 3 (a KRaft cluster of three combined
   * broker+controller nodes on loopback; node n on the KAFKA_BROKERS port + 2(n-1) and the
   * controller port + 2(n-1); topics with replication factor 3 and `min.insync.replicas` 2).
   */
  DEVSTACK_KAFKA_NODES: setting.oneOf(['1', '3'], { default: '1' }),
  /**
   * `npm start` also starts a local Prometheus (Debian's `prometheus` package) that scrapes every
   * service's /metrics and loads monitoring/alerts.yml; idle (15 s scrapes of the four services)
   * it used 0.2 to 0.3 % of a core and 55 MB of memory.
   */
  DEVSTACK_PROMETHEUS: setting.boolean({ default: true }),
  /** Where the local Prometheus listens (loopback); not 9090, which a system Prometheus may hold. */
  DEVSTACK_PROMETHEUS_PORT: setting.port({ default: 9464 }),
  /** Seconds between two scrapes of each service (and between two rule evaluations). */
  DEVSTACK_PROMETHEUS_SCRAPE_SECONDS: setting.integer({ min: 1, max: 300, default: 15 }),
} as const;

/**
 * The pipeline's topics. On a cluster (DEVSTACK_KAFKA_NODES above 1) each says its replication
 * factor, min(3, nodes), and `min.insync.replicas` (2 from three nodes on), as production's do.
 */
export function pipelineTopics(config: {
  KAFKA_TOPIC: string;
  KAFKA_DLQ_TOPIC: string;
  KAFKA_TOPIC_PARTITIONS: number;
  DEVSTACK_KAFKA_NODES?: string;
}): TopicSpec[] {
  const dlq = config.KAFKA_DLQ_TOPIC === '' ? `${config.KAFKA_TOPIC}.dlq` : config.KAFKA_DLQ_TOPIC;
  const nodes = Number(config.DEVSTACK_KAFKA_NODES ?? '1');
  const { factor, minInsync } = replicationFor(nodes);
  const replication =
    nodes > 1 ? { replicationFactor: factor, config: { 'min.insync.replicas': String(minInsync) } } : {};
  return [
    { topic: config.KAFKA_TOPIC, partitions: config.KAFKA_TOPIC_PARTITIONS, ...replication },
    { topic: dlq, partitions: 1, ...replication },
  ];
}

export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}
