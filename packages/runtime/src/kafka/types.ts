/**
 * The Kafka interface the rest of the repository programs against. Only this folder knows the
 * client library (kafkajs today), so the client can be swapped after measurement without
 * touching a service.
 */

/**
 * The client libraries behind the interface. Only the producer can run on either; the admin
 * and the consumer always use kafkajs (docs/kafka-client.md).
 */
export const kafkaClients = ['kafkajs', 'platformatic'] as const;
export type KafkaClient = (typeof kafkaClients)[number];
/**
 * The producer's library when none is named: a third of kafkajs's CPU per record and one
 * produce request per leader for a take (docs/kafka-client.md, docs/BENCHMARKS.md).
 */
export const defaultKafkaClient: KafkaClient = 'platformatic';

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** The library the producer uses (default `defaultKafkaClient`). */
  readonly client?: KafkaClient;
  /** Time allowed to open a TCP connection to a broker. */
  readonly connectionTimeoutMs?: number;
  /** Time allowed for one request (produce, fetch, metadata). */
  readonly requestTimeoutMs?: number;
  /** Client-level retries of a failed request before the call rejects. */
  readonly retries?: number;
  /** TLS and SASL (KAFKA_SSL*, KAFKA_SASL_*, settings.ts); plaintext and no login when omitted. */
  readonly security?: KafkaSecurity;
}

export const kafkaSaslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof kafkaSaslMechanisms)[number];

/** What every client of the connection (both libraries) needs to reach a TLS/SASL listener. */
export interface KafkaSecurity {
  /** TLS to the brokers; each PEM is the file's content, read at start (KAFKA_SSL_CA, _CERT, _KEY). */
  readonly tls?: {
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
    /** The file KAFKA_SSL_CA named, for errors; undefined: the system's CAs are trusted. */
    readonly caFile?: string;
  };
  /** SASL login; `password` is not enumerable, so printing the connection never shows it. */
  readonly sasl?: { readonly mechanism: KafkaSaslMechanism; readonly username: string; readonly password: string };
}

export type Compression = 'none' | 'gzip';

export interface ProducerOptions {
  readonly compression?: Compression;
  /** Broker-side wait for all in-sync replicas (acks=all), in ms. */
  readonly ackTimeoutMs?: number;
  /**
   * Kafka's idempotent producer (a producer id and per-partition sequence numbers, so the broker
   * drops a resent batch it already wrote). Off in the services: produce() never resends what
   * was acknowledged; the Kafka client bench measures what it would cost (BENCH_MODE=idempotent).
   */
  readonly idempotent?: boolean;
}

export interface OutgoingMessage {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** Create time in ms; the broker's time when omitted. */
  readonly timestamp?: number;
}

/** Messages for one partition of one topic: what the broker accepts or refuses as a whole. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly OutgoingMessage[];
}

/**
 * Why a partition's messages were not acknowledged. `code` is Kafka's error name
 * (MESSAGE_TOO_LARGE, NOT_LEADER_OR_FOLLOWER, ...) or NETWORK / TIMEOUT / NOT_CONNECTED /
 * UNKNOWN. `retriable` false means the records themselves are refused (too large, invalid):
 * no retry of the same messages can succeed. Refusals of the request or the principal (not
 * authorised) are retriable: they pause the producer until fixed, they never blame a record.
 */
export interface ProduceFailure {
  readonly code: string;
  readonly retriable: boolean;
  readonly message: string;
}

/** What became of one PartitionBatch. */
export type PartitionOutcome =
  | { readonly kind: 'acked'; readonly topic: string; readonly partition: number; readonly baseOffset: string }
  | { readonly kind: 'failed'; readonly topic: string; readonly partition: number; readonly error: ProduceFailure };

/** A topic's partition count and the largest record batch the broker takes for it. */
export interface TopicLimits {
  readonly topic: string;
  readonly partitions: number;
  /** The topic's effective max.message.bytes. */
  readonly maxMessageBytes: number;
  /** Where that value comes from: the topic's own config, or the broker's message.max.bytes. */
  readonly maxMessageBytesSource: 'topic' | 'broker';
}

export interface ProduceReceipt {
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: string;
}

export interface EventProducer {
  /**
   * Loads the client library's code without connecting (connect() does it too when needed). A
   * service awaits it during start-up: loading @platformatic/kafka holds the event loop for about
   * 200 ms (tsx, idle machine), which must come before the service takes a lease or serves.
   */
  prepare(): Promise<void>;
  connect(): Promise<void>;
  /** Sends one batch with acks=all; resolves once every message is acknowledged by the broker. */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<ProduceReceipt[]>;
  /** Sends batches for several topics in one request round (e.g. events plus dead letters). */
  sendMany(batches: readonly { topic: string; messages: readonly OutgoingMessage[] }[]): Promise<ProduceReceipt[]>;
  /**
   * Sends each batch to its partition with acks=all and reports, per batch and in the same
   * order, whether the broker acknowledged it or why not. Never rejects for a Kafka error. One
   * request per partition, so a retry (the client's or the caller's) only ever repeats a
   * partition the broker refused, never one it acknowledged.
   */
  produce(batches: readonly PartitionBatch[]): Promise<PartitionOutcome[]>;
  /** Whether the producer holds a live broker connection (for readiness). */
  readonly connected: boolean;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** First offset still stored. */
  readonly low: string;
  /** Offset the next message will get (the high watermark). */
  readonly high: string;
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  /** Creates the topics that do not exist yet; returns the names it created. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<string[]>;
  listTopics(): Promise<string[]>;
  /** The cluster's id and its brokers, as the bootstrap broker reports them. */
  describeCluster(): Promise<{ clusterId: string; brokers: { nodeId: number; host: string; port: number }[] }>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Per partition, the first offset whose timestamp is >= ts (or the high watermark). */
  offsetsForTimestamp(topic: string, ts: number): Promise<{ partition: number; offset: string }[]>;
  /** Partition count and effective max.message.bytes (the broker's message.max.bytes unless overridden). */
  topicLimits(topic: string): Promise<TopicLimits>;
  /** Sets (overrides) config entries of a topic, e.g. max.message.bytes. */
  alterTopicConfig(topic: string, config: Readonly<Record<string, string>>): Promise<void>;
  /** Committed offsets of a consumer group on a topic ('-1' where nothing is committed). */
  groupOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  /** The node id of the broker that coordinates the group now. */
  groupCoordinator(groupId: string): Promise<number>;
  /** The ids of the consumer groups the cluster knows. */
  listGroups(): Promise<string[]>;
  /** Deletes consumer groups that have no member left, with their committed offsets. */
  deleteGroups(groupIds: readonly string[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: readonly IncomingMessage[];
}

export interface BatchContext {
  /** Keeps group membership alive during a long handler. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked: stop early. */
  isActive(): boolean;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts: the earliest message, or only new ones. */
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs?: number;
  /**
   * Longest time the broker holds a fetch waiting for `minBytes` (default 100 ms): the latency a
   * lone event can gain here, and how often an idle consumer asks.
   */
  readonly maxWaitMs?: number;
  /** Bytes a fetch waits for (up to maxWaitMs) before the broker answers (default 1). */
  readonly minBytes?: number;
  /**
   * Most bytes one fetch brings of one partition (default 256 KiB, `FETCH_MAX_PARTITION_BYTES`):
   * what a handler call holds at once while a backlog is read. A larger record batch still comes
   * whole, so a big event never stalls a partition.
   */
  readonly maxPartitionBytes?: number;
  /**
   * After a fetch that brought events and left no backlog, the next fetch goes out this much
   * later (default 0): at moderate rates a fetch carries the events of a linger, and an event
   * waits at most this long more. A backlog, or a fetch that brought nothing, never waits.
   */
  readonly fetchLingerMs?: number;
  /** Partitions handled at the same time (default 1). */
  readonly concurrency?: number;
  /** false: a reader that never commits offsets (a one-off read positioned by seek). Default true. */
  readonly commitOffsets?: boolean;
  /**
   * Handled offsets are committed at most this often (default 0: after every batch). Never before
   * the handler resolved; at the latest this long after, also when no further batch comes; at
   * once when the consumer stops. A crash re-delivers what was handled since the last commit.
   */
  readonly commitIntervalMs?: number;
  /** Told of each fetch the consumer makes and each offset commit it sends (for metrics). */
  readonly onFetch?: () => void;
  readonly onCommit?: () => void;
  /** Told each time the member (re)joins its group. */
  readonly onJoin?: () => void;
}

export type BatchHandler = (batch: IncomingBatch, ctx: BatchContext) => Promise<void>;

/**
 * The batches of several partitions in one call (see EventConsumer.startGathered): no partition
 * twice, each partition's messages in offset order.
 */
export type GatheredBatchHandler = (batches: readonly IncomingBatch[], ctx: BatchContext) => Promise<void>;

export interface EventConsumer {
  /**
   * Joins the group and hands batches to the handler. A batch's offsets are committed only
   * after the handler resolved; a handler that rejects gets the batch again (at-least-once).
   */
  start(handler: BatchHandler): Promise<void>;
  /**
   * As start(), but the partitions' batches that are ready together (those of one fetch, and
   * those that came while an earlier call ran) reach the handler in one call, at most `calls`
   * calls at a time (default 1): a handler's cost per call is paid per fetch, not per
   * partition. Each batch's offsets are committed only after its call resolved; a call that
   * rejects fails every batch in it (all are read again).
   */
  startGathered(handler: GatheredBatchHandler, calls?: number): Promise<void>;
  /** Moves this consumer's position (on partitions it owns) to the given offsets. */
  seek(topic: string, partition: number, offset: string): void;
  /** Resolves when the consumer owns at least one partition (or has joined an empty assignment). */
  waitForAssignment(timeoutMs: number): Promise<{ topic: string; partitions: number[] }[]>;
  /**
   * Resolves once the consumer also knows where it reads from in each assigned partition (its
   * first fetch after the latest assignment). From then on every message produced reaches the
   * handler, also for a group that starts at the latest offsets; before, such a group may
   * resolve "latest" after a message was produced and never see it. A seek meant to apply
   * before the first fetch belongs after waitForAssignment instead.
   */
  waitForPosition(timeoutMs: number): Promise<{ topic: string; partitions: number[] }[]>;
  /**
   * Stops fetching (the group membership stays); resume() fetches again from where it stopped,
   * or from where seek() moved it meanwhile. A batch already fetched may still reach the handler.
   */
  pause(): void;
  resume(): void;
  /** Called when the consumer stopped for good because of an error it could not recover from. */
  onCrash(listener: (error: Error) => void): void;
  readonly running: boolean;
  stop(): Promise<void>;
}
