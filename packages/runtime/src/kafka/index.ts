export type * from './types.js';
export { kafkaClients } from './types.js';
export { createProducer, type ProducerOptions } from './producer.js';
export { javaKeyPartition, murmur2 } from './murmur2.js';
export { createAdmin } from './admin.js';
export { createConsumer } from './consumer.js';
export { kafkaSettings, kafkaConnectionFrom, deadLetterTopic } from './settings.js';
