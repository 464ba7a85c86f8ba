/**
 * The Apache Kafka release the project develops and tests against. kafkajs 2.2.4 was checked
 * against it: topic creation, acks=all produce, consumer groups with committed offsets.
 */
export const KAFKA_VERSION = '4.1.2';
