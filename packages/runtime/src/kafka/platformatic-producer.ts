import { setTimeout as sleep } from 'node:timers/promises';
import {
  Producer,
  ProduceAcks,
  ProtocolError,
  kGetApi,
  kGetConnection,
  kMetadata,
  type Broker,
  type Callback,
  type ClusterMetadata,
  type Connection,
  type MessageToProduce,
  type ProduceResult,
  type RetryDelayGetter,
} from '@platformatic/kafka';
import { PushtechError, describeError } from '../errors.js';
import { withConnectHint } from './connect-errors.js';
import type { Logger } from '../logger.js';
import { murmur2 } from './murmur2.js';
import { classifyProduceError } from './produce-errors.js';
import { platformaticSecurity } from './security.js';
import type {
  EventProducer,
  KafkaConnection,
  OutgoingMessage,
  PartitionBatch,
  PartitionOutcome,
  ProduceFailure,
  ProduceReceipt,
  ProducerOptions,
} from './types.js';

type OutgoingRecord = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/**
 * The same key must land on the same partition whichever client produced it, or switching
 * clients would break per-key ordering. kafkajs's default partitioner and the Java client take
 * murmur2 with the sign bit masked; @platformatic/kafka's default keeps it (`>>> 0`), which
 * differs for about half of the keys. Its `compatibilityPartitioner` masks it, but hashes in
 * BigInt; this one computes the same hash in 32-bit integers (the client takes the result
 * modulo the topic's partitions). Keyless messages go round-robin, as with kafkajs.
 */
function javaCompatiblePartitioner(): (message: OutgoingRecord, key: Buffer | undefined) => number {
  const next = new Map<string, number>();
  return (message, key) => {
    if (key !== undefined) return murmur2(key) & 0x7fffffff;
    const n = next.get(message.topic) ?? 0;
    next.set(message.topic, (n + 1) % 0x7fffffff);
    return n;
  };
}

/** A Produce answer, as the client's Produce API parses it (the fields read here). */
interface ProduceAnswer {
  readonly responses: readonly {
    readonly name: string;
    readonly partitionResponses: readonly {
      readonly index: number;
      readonly errorCode: number;
      readonly baseOffset: bigint;
      readonly errorMessage?: string | null;
    }[];
  }[];
}

/** The client's Produce API (the version the broker supports): one request on one connection. */
type ProduceApi = (
  connection: Connection,
  acks: number,
  timeout: number,
  records: OutgoingRecord[],
  options: { compression: 'gzip' | 'none' },
  done: Callback<ProduceAnswer | boolean>,
) => void;

/** A callback-style call of the client as a promise. */
function callback<T>(call: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value as T))));
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function failure({ topic, partition }: PartitionBatch, error: ProduceFailure): PartitionOutcome {
  return { kind: 'failed', topic, partition, error };
}

function notConnected(message: string): ProduceFailure {
  return { code: 'NOT_CONNECTED', retriable: true, message };
}

/** kafkajs's schedule: 100 ms doubling up to 5 s, with ±20 % jitter so clients do not retry in step. */
const retryDelay: RetryDelayGetter = (_client, _operation, attempt) =>
  Math.round(Math.min(5_000, 100 * 2 ** Math.max(0, attempt - 1)) * (0.8 + Math.random() * 0.4));

function toBuffer(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** Header names repeat on every message (`id`): each is encoded once. */
const headerNames = new Map<string, Buffer>();
function headerName(name: string): Buffer {
  let buffer = headerNames.get(name);
  if (buffer === undefined) {
    buffer = Buffer.from(name);
    if (headerNames.size < 1_000) headerNames.set(name, buffer);
  }
  return buffer;
}

function toRecord(topic: string, message: OutgoingMessage): OutgoingRecord {
  const record: OutgoingRecord = { topic, value: toBuffer(message.value) };
  if (message.key !== undefined && message.key !== null) record.key = toBuffer(message.key);
  if (message.headers) {
    const headers = new Map<Buffer, Buffer>();
    for (const name in message.headers) headers.set(headerName(name), toBuffer(message.headers[name] as string));
    record.headers = headers;
  }
  if (message.timestamp !== undefined) record.timestamp = BigInt(message.timestamp);
  return record;
}

function toReceipts(result: ProduceResult): ProduceReceipt[] {
  return (result.offsets ?? []).map((o) => ({
    topic: o.topic,
    partition: o.partition,
    baseOffset: o.offset.toString(),
  }));
}

/**
 * One line from the client's nested errors. A retried failure is an AggregateError whose own
 * message only counts the attempts ("metadata failed 4 times."); the reason is in its last
 * attempt, often one more level down, and the system error (ECONNREFUSED) is a `cause`.
 */
function describeClientError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined; depth++) {
    if (!(current instanceof Error)) {
      parts.push(describeError(current));
      break;
    }
    parts.push(current.message.replace(/\.$/, ''));
    current = current instanceof AggregateError && current.errors.length > 0 ? current.errors.at(-1) : current.cause;
  }
  return parts.filter((p) => p !== '').join(': ');
}

class PlatformaticProducer implements EventProducer {
  /** Created by connect(); a closed @platformatic/kafka client cannot be reopened. */
  private client: Producer | undefined;
  /**
   * Whether the last attempt to reach a broker succeeded. Not the pool's own isConnected(): the
   * broker closes idle connections (connections.max.idle.ms), which must not make an idle but
   * healthy producer unready.
   */
  private reachable = false;
  /** Aborted by disconnect(): ends produce()'s wait between tries. */
  private closing = new AbortController();

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: ProducerOptions,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.client !== undefined && this.reachable;
  }

  private open(): Producer {
    const client = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: this.connection.clientId,
      ...platformaticSecurity(this.connection),
      bootstrapBrokers: [...this.connection.brokers],
      connectTimeout: this.connection.connectionTimeoutMs ?? 3_000,
      requestTimeout: this.connection.requestTimeoutMs ?? 30_000,
      retries: this.connection.retries ?? 5,
      retryDelay,
      // The broker-side wait for the in-sync replicas (the Produce request's timeout).
      timeout: this.options.ackTimeoutMs ?? 30_000,
      compression: this.options.compression === 'gzip' ? 'gzip' : 'none',
      partitioner: javaCompatiblePartitioner(),
      autocreateTopics: false,
      // Ordering within a partition matters more than pipelining for a tracking stream.
      maxInflights: 1,
      ...(this.options.idempotent === true ? { idempotent: true, acks: ProduceAcks.ALL } : {}),
    });
    client.on('client:broker:connect', () => (this.reachable = true));
    client.on('client:broker:failed', ({ broker }) => {
      this.reachable = false;
      this.logger.warn({ broker: `${broker.host}:${broker.port}` }, 'cannot connect to a Kafka broker');
    });
    client.on('client:broker:disconnect', ({ broker }) =>
      this.logger.debug({ broker: `${broker.host}:${broker.port}` }, 'Kafka broker connection closed'),
    );
    return client;
  }

  async prepare(): Promise<void> {
    // Loaded: this module imports the client.
  }

  async connect(): Promise<void> {
    if (this.client === undefined || this.client.closed) this.client = this.open();
    try {
      // Like kafkajs's connect: reach a bootstrap broker and learn the cluster's brokers.
      await this.client.metadata({ topics: [] });
      this.reachable = true;
    } catch (error: unknown) {
      this.reachable = false;
      throw new PushtechError(
        'PT_ERR_KAFKA_CONNECT',
        `cannot connect the Kafka producer: ${withConnectHint(describeClientError(error), error, this.connection)}`,
        { cause: error },
      );
    }
  }

  send(topic: string, messages: readonly OutgoingMessage[]): Promise<ProduceReceipt[]> {
    return this.sendMany([{ topic, messages }]);
  }

  async sendMany(
    batches: readonly { topic: string; messages: readonly OutgoingMessage[] }[],
  ): Promise<ProduceReceipt[]> {
    const records: OutgoingRecord[] = [];
    for (const batch of batches) for (const m of batch.messages) records.push(toRecord(batch.topic, m));
    if (records.length === 0) return [];
    const client = this.client;
    if (client === undefined || client.closed) {
      // kafkajs refuses a send before connect() or after disconnect() too; both clients must agree.
      throw new PushtechError(
        'PT_ERR_KAFKA_PRODUCE',
        'Kafka did not acknowledge the batch: the producer is not connected (call connect() first)',
      );
    }
    try {
      // acks per send: the client applies a producer-level `acks` only to idempotent producers
      // and otherwise defaults every send to acks=1 (leader only).
      const result = await client.send({ messages: records, acks: ProduceAcks.ALL });
      this.reachable = true;
      return toReceipts(result);
    } catch (error: unknown) {
      throw new PushtechError(
        'PT_ERR_KAFKA_PRODUCE',
        `Kafka did not acknowledge the batch: ${describeClientError(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * One Produce request per leader for the whole take, its answer read per partition: what the
   * broker acknowledged is never sent again, and only the partitions it refused for a reason a
   * retry can change (a leader moving, replicas missing, the network) are sent again, with
   * kafkajs's backoff, up to the connection's `retries`. The client's own send cannot do this:
   * on one partition's retriable error it repeats the whole request, acknowledged partitions
   * included. An idempotent producer keeps the client's send, one partition per request, since
   * the client keeps its sequence numbers.
   */
  async produce(batches: readonly PartitionBatch[]): Promise<PartitionOutcome[]> {
    const outcomes: PartitionOutcome[] = batches.map(({ topic, partition }) => ({
      kind: 'acked',
      topic,
      partition,
      baseOffset: '-1',
    }));
    let pending = batches.flatMap((batch, i) => (batch.messages.length > 0 ? [i] : []));
    if (pending.length === 0) return outcomes;
    if (this.options.idempotent === true) {
      const sent = await Promise.all(pending.map((i) => this.producePartition(batches[i] as PartitionBatch)));
      for (const [n, i] of pending.entries()) outcomes[i] = sent[n] as PartitionOutcome;
      return outcomes;
    }
    const retries = this.connection.retries ?? 5;
    for (let attempt = 1; ; attempt++) {
      const client = this.client;
      if (client === undefined || client.closed) {
        const message = 'the producer is not connected (call connect() first)';
        for (const i of pending) outcomes[i] = failure(batches[i] as PartitionBatch, notConnected(message));
        return outcomes;
      }
      const answers = await this.produceOnce(
        client,
        pending.map((i) => batches[i] as PartitionBatch),
      );
      for (const [n, i] of pending.entries()) outcomes[i] = answers[n] as PartitionOutcome;
      pending = pending.filter((i) => {
        const outcome = outcomes[i] as PartitionOutcome;
        return outcome.kind === 'failed' && outcome.error.retriable;
      });
      if (pending.length === 0 || attempt > retries) return outcomes;
      // A leader that moved or a broker that died: ask the cluster again before the next try.
      client.clearMetadata();
      try {
        await sleep(retryDelay(client, 'produce', attempt, retries, new Error('produce')), undefined, {
          signal: this.closing.signal,
        });
      } catch {
        return outcomes; // disconnect() during the wait: report the last answers at once
      }
    }
  }

  /** One try: the partitions grouped by leader, one Produce request each, all at once. */
  private async produceOnce(client: Producer, batches: readonly PartitionBatch[]): Promise<PartitionOutcome[]> {
    let metadata: ClusterMetadata;
    try {
      const topics = [...new Set(batches.map((b) => b.topic))];
      metadata = await callback<ClusterMetadata>((done) =>
        client[kMetadata]({ topics, autocreateTopics: false }, done),
      );
    } catch (error: unknown) {
      const reason = classifyProduceError(error, describeClientError(error));
      return batches.map((batch) => failure(batch, reason));
    }
    const outcomes: PartitionOutcome[] = new Array<PartitionOutcome>(batches.length);
    const byLeader = new Map<number, number[]>();
    for (const [i, { topic, partition }] of batches.entries()) {
      const leader = metadata.topics.get(topic)?.partitions[partition]?.leader ?? -1;
      const broker = metadata.brokers.get(leader);
      if (broker === undefined) {
        outcomes[i] = failure(batches[i] as PartitionBatch, {
          code: 'LEADER_NOT_AVAILABLE',
          retriable: true,
          message: `no live leader known for ${topic}/${partition}`,
        });
        continue;
      }
      const group = byLeader.get(leader);
      if (group === undefined) byLeader.set(leader, [i]);
      else group.push(i);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, indexes]) => {
        const group = indexes.map((i) => batches[i] as PartitionBatch);
        const answers = await this.produceToLeader(client, metadata.brokers.get(leader) as Broker, group);
        for (const [n, i] of indexes.entries()) outcomes[i] = answers[n] as PartitionOutcome;
      }),
    );
    return outcomes;
  }

  /** One Produce request (acks=all) to one leader; the outcome of each of its partitions. */
  private async produceToLeader(
    client: Producer,
    broker: Broker,
    batches: readonly PartitionBatch[],
  ): Promise<PartitionOutcome[]> {
    const records: OutgoingRecord[] = [];
    for (const { topic, partition, messages } of batches) {
      for (const m of messages) {
        const record = toRecord(topic, m);
        record.partition = partition;
        records.push(record);
      }
    }
    let response: ProduceAnswer | undefined;
    try {
      const connection = await callback<Connection>((done) => client[kGetConnection](broker, done));
      const api = await callback<ProduceApi>((done) => client[kGetApi]('Produce', done));
      const timeout = this.options.ackTimeoutMs ?? 30_000;
      const compression = this.options.compression === 'gzip' ? 'gzip' : 'none';
      response = (await callback<ProduceAnswer | boolean>((done) =>
        api(connection, ProduceAcks.ALL, timeout, records, { compression }, done),
      )) as ProduceAnswer;
    } catch (error: unknown) {
      // A response with partition errors still carries every partition's answer.
      const answered = field(error, 'response') as ProduceAnswer | undefined;
      if (answered?.responses === undefined) {
        const reason = classifyProduceError(error, describeClientError(error));
        return batches.map((batch) => failure(batch, reason));
      }
      response = answered;
    }
    this.reachable = true;
    const answers = new Map<string, ProduceAnswer['responses'][number]['partitionResponses'][number]>();
    for (const { name, partitionResponses } of response.responses) {
      for (const p of partitionResponses) answers.set(`${name}/${p.index}`, p);
    }
    return batches.map((batch) => {
      const answer = answers.get(`${batch.topic}/${batch.partition}`);
      if (answer === undefined) {
        const message = `the broker's answer did not mention ${batch.topic}/${batch.partition}`;
        return failure(batch, { code: 'UNKNOWN', retriable: true, message });
      }
      if (answer.errorCode === 0) {
        const { topic, partition } = batch;
        return { kind: 'acked', topic, partition, baseOffset: answer.baseOffset.toString() };
      }
      const error = new ProtocolError(answer.errorCode, answer.errorMessage ?? null);
      return failure(batch, classifyProduceError(error, describeClientError(error)));
    });
  }

  /** The client's own send for one partition (the idempotent producer's path). */
  private async producePartition(batch: PartitionBatch): Promise<PartitionOutcome> {
    const { topic, partition } = batch;
    const client = this.client;
    if (client === undefined || client.closed) {
      return failure(batch, notConnected('the producer is not connected (call connect() first)'));
    }
    const records = batch.messages.map((m) => {
      const record = toRecord(topic, m);
      record.partition = partition;
      return record;
    });
    try {
      const result = await client.send({ messages: records, acks: ProduceAcks.ALL });
      this.reachable = true;
      const offset = result.offsets?.find((o) => o.topic === topic && o.partition === partition)?.offset;
      return { kind: 'acked', topic, partition, baseOffset: offset?.toString() ?? '-1' };
    } catch (error: unknown) {
      return failure(batch, classifyProduceError(error, describeClientError(error)));
    }
  }

  async disconnect(): Promise<void> {
    const client = this.client;
    this.reachable = false;
    this.closing.abort();
    this.closing = new AbortController();
    if (client === undefined || client.closed) return;
    // A send waiting between retries (a stop during an outage) fails at once instead of blocking it.
    await client.close();
  }
}

/** The EventProducer on @platformatic/kafka: acks=all, Java-compatible key partitioning. */
export function createPlatformaticProducer(
  connection: KafkaConnection,
  logger: Logger,
  options: ProducerOptions = {},
): EventProducer {
  return new PlatformaticProducer(connection, options, logger.child({ component: 'kafka-producer' }));
}
