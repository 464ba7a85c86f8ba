import { CompressionTypes, Partitioners, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { PushtechError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createKafkaClient } from './client.js';
import { withConnectHint } from './connect-errors.js';
import { classifyProduceError } from './produce-errors.js';
import {
  defaultKafkaClient,
  type EventProducer,
  type KafkaConnection,
  type OutgoingMessage,
  type PartitionBatch,
  type PartitionOutcome,
  type ProduceReceipt,
  type ProducerOptions,
} from './types.js';

function toMessage(message: OutgoingMessage): Message {
  return {
    key: message.key ?? null,
    value: message.value,
    ...(message.headers ? { headers: { ...message.headers } } : {}),
    ...(message.timestamp !== undefined ? { timestamp: String(message.timestamp) } : {}),
  };
}

function toPartitionMessage(message: OutgoingMessage, partition: number): Message {
  return { ...toMessage(message), partition };
}

function toReceipts(records: RecordMetadata[]): ProduceReceipt[] {
  return records.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: r.baseOffset ?? '-1' }));
}

class KafkajsProducer implements EventProducer {
  private isConnected = false;

  constructor(
    private readonly producer: Producer,
    private readonly options: ProducerOptions,
    private readonly connection: KafkaConnection,
  ) {
    producer.on(producer.events.CONNECT, () => (this.isConnected = true));
    producer.on(producer.events.DISCONNECT, () => (this.isConnected = false));
    producer.on(producer.events.REQUEST_TIMEOUT, () => (this.isConnected = false));
  }

  get connected(): boolean {
    return this.isConnected;
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (error: unknown) {
      const reason = withConnectHint(describeError(error), error, this.connection);
      throw new PushtechError('PT_ERR_KAFKA_CONNECT', `cannot connect the Kafka producer: ${reason}`, { cause: error });
    }
  }

  send(topic: string, messages: readonly OutgoingMessage[]): Promise<ProduceReceipt[]> {
    return this.sendMany([{ topic, messages }]);
  }

  async sendMany(
    batches: readonly { topic: string; messages: readonly OutgoingMessage[] }[],
  ): Promise<ProduceReceipt[]> {
    const topicMessages = batches
      .filter((b) => b.messages.length > 0)
      .map((b) => ({ topic: b.topic, messages: b.messages.map(toMessage) }));
    if (topicMessages.length === 0) return [];
    try {
      const records = await this.producer.sendBatch({
        topicMessages,
        acks: -1,
        timeout: this.options.ackTimeoutMs ?? 30_000,
        compression: this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      });
      this.isConnected = true;
      return toReceipts(records);
    } catch (error: unknown) {
      throw new PushtechError('PT_ERR_KAFKA_PRODUCE', `Kafka did not acknowledge the batch: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * One sendBatch per partition, all at once. kafkajs's response parser keeps only the first
   * partition error of a request and its retrier repeats the whole request, partitions the
   * broker acknowledged included; with one partition per request, both only ever concern the
   * records the broker refused.
   */
  produce(batches: readonly PartitionBatch[]): Promise<PartitionOutcome[]> {
    return Promise.all(batches.map((batch) => this.producePartition(batch)));
  }

  private async producePartition(batch: PartitionBatch): Promise<PartitionOutcome> {
    const { topic, partition } = batch;
    if (batch.messages.length === 0) return { kind: 'acked', topic, partition, baseOffset: '-1' };
    try {
      const [record] = await this.producer.send({
        topic,
        messages: batch.messages.map((m) => toPartitionMessage(m, partition)),
        acks: -1,
        timeout: this.options.ackTimeoutMs ?? 30_000,
        compression: this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      });
      this.isConnected = true;
      return { kind: 'acked', topic, partition, baseOffset: record?.baseOffset ?? '-1' };
    } catch (error: unknown) {
      return { kind: 'failed', topic, partition, error: classifyProduceError(error) };
    }
  }

  async prepare(): Promise<void> {
    // kafkajs is imported with this module.
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.isConnected = false;
  }
}

/**
 * The @platformatic/kafka producer, its module imported by prepare() or the first call. Importing
 * it costs a process about 50 MB of memory, which a process that loads this module but never
 * creates a producer (kafidx, the devstack) is spared. Once it is loaded, every call goes
 * straight to it.
 */
class DeferredProducer implements EventProducer {
  private producer: EventProducer | undefined;
  private loading: Promise<EventProducer> | undefined;

  constructor(private readonly load: () => Promise<EventProducer>) {}

  private loaded(): Promise<EventProducer> {
    this.loading ??= this.load().then(
      (producer) => (this.producer = producer),
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  get connected(): boolean {
    return this.producer?.connected ?? false;
  }

  async prepare(): Promise<void> {
    await this.loaded();
  }

  async connect(): Promise<void> {
    await (this.producer ?? (await this.loaded())).connect();
  }

  send(topic: string, messages: readonly OutgoingMessage[]): Promise<ProduceReceipt[]> {
    if (this.producer) return this.producer.send(topic, messages);
    return this.loaded().then((producer) => producer.send(topic, messages));
  }

  sendMany(batches: readonly { topic: string; messages: readonly OutgoingMessage[] }[]): Promise<ProduceReceipt[]> {
    if (this.producer) return this.producer.sendMany(batches);
    return this.loaded().then((producer) => producer.sendMany(batches));
  }

  produce(batches: readonly PartitionBatch[]): Promise<PartitionOutcome[]> {
    if (this.producer) return this.producer.produce(batches);
    return this.loaded().then((producer) => producer.produce(batches));
  }

  async disconnect(): Promise<void> {
    // Never loaded: nothing was opened.
    if (this.loading !== undefined) await (await this.loading).disconnect();
  }
}

/**
 * A producer that waits for acks=all on every batch and never creates topics by accident, on the
 * client library `connection.client` names (KAFKA_CLIENT; `defaultKafkaClient` unless set).
 */
export function createProducer(
  connection: KafkaConnection,
  logger: Logger,
  options: ProducerOptions = {},
): EventProducer {
  if ((connection.client ?? defaultKafkaClient) === 'platformatic') {
    return new DeferredProducer(async () => {
      const { createPlatformaticProducer } = await import('./platformatic-producer.js');
      return createPlatformaticProducer(connection, logger, options);
    });
  }
  const kafka = createKafkaClient(connection, logger);
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    // Ordering within a partition matters more than pipelining for a tracking stream.
    maxInFlightRequests: 1,
    ...(options.idempotent === true ? { idempotent: true } : {}),
  });
  return new KafkajsProducer(producer, options, connection);
}
