import kafkajs, { type Admin } from 'kafkajs';
import { PushtechError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createKafkaClient } from './client.js';
import { withConnectHint } from './connect-errors.js';
import { causeChain } from './error-chain.js';
import { platformaticSecurity } from './security.js';

// kafkajs is CommonJS and spreads these into its exports, where Node cannot see them as named ones.
const { ConfigResourceTypes, ConfigSource } = kafkajs;
import type { KafkaAdmin, KafkaConnection, PartitionOffsets, TopicLimits, TopicSpec } from './types.js';

/** Answers a broker gives while a partition's leadership is still settling. */
const SETTLING: ReadonlySet<string> = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Answers a broker gives about a topic that was just created elsewhere in the cluster: each node
 * applies the new topic from the metadata log a moment after the controller accepted it.
 */
export const APPLYING: ReadonlySet<string> = new Set([...SETTLING, 'UNKNOWN_TOPIC_OR_PARTITION']);

/**
 * The protocol error a kafkajs error names, on itself or on the error it wraps (kafkajs wraps a
 * broker's answer in a KafkaJSNonRetriableError when it gives a request up).
 */
export function brokerErrorType(error: unknown): string | undefined {
  const type = causeChain(error).find((e) => typeof e.type === 'string')?.type;
  return typeof type === 'string' ? type : undefined;
}

/**
 * Runs a read again while the broker answers with one of `retryOn` (by default: its partitions
 * have no settled leader yet). In KRaft a just-created topic can have a leader in the metadata a
 * moment before the broker answers ListOffsets for it, and kafkajs's admin gives that answer up
 * at once.
 */
export async function whileLeadersSettle<T>(
  read: () => Promise<T>,
  timeoutMs = 5000,
  retryOn: ReadonlySet<string> = SETTLING,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    try {
      return await read();
    } catch (error: unknown) {
      const type = brokerErrorType(error);
      if (type === undefined || !retryOn.has(type) || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * A failed creation in words: kafkajs reports the broker's answer for each topic inside an
 * aggregate ("Topic creation errors"), which says nothing of what was wrong until it is opened.
 */
function describeCreation(error: unknown): string {
  const aggregate = causeChain(error).find((e) => Array.isArray(e.errors) && e.errors.length > 0);
  if (aggregate === undefined) return describeError(error);
  const each = (aggregate.errors as unknown[]).map((e) => {
    const topic = (e as { topic?: unknown } | null)?.topic;
    return typeof topic === 'string' ? `${topic}: ${describeError(e)}` : describeError(e);
  });
  return `${describeError(aggregate)} (${each.join('; ')})`;
}

/** An answer shaped as kafkajs reports a broker's, for a condition this module finds itself. */
const unsettled = (type: string, message: string): Error => Object.assign(new Error(message), { type });

/** How long ensureTopics waits for topics its creation may have made to show, with leaders. */
const CREATED_TOPICS_SHOW_MS = 15_000;

class KafkajsAdmin implements KafkaAdmin {
  constructor(
    private readonly admin: Admin,
    private readonly connection: KafkaConnection,
  ) {}

  async connect(): Promise<void> {
    try {
      await this.admin.connect();
    } catch (error: unknown) {
      const reason = withConnectHint(describeError(error), error, this.connection);
      throw new PushtechError('PT_ERR_KAFKA_CONNECT', `cannot connect to Kafka: ${reason}`, { cause: error });
    }
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<string[]> {
    const existing = new Set(await this.admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return [];
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor ?? -1,
          configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error: unknown) {
      // The topics may exist all the same: another process created one between the listing and
      // the creation, or the creation succeeded and the node kafkajs then asked for the leaders
      // had not applied it yet (UNKNOWN_TOPIC_OR_PARTITION, seen on a three-node cluster just
      // after its start), or their leaders took longer than kafkajs waits. Topics that may exist
      // are given time to show, each partition led; any other failure is thrown at once.
      const topics = missing.map((s) => s.topic);
      const maybeCreated =
        APPLYING.has(brokerErrorType(error) ?? '') ||
        (await this.admin.listTopics().then((now) => topics.every((t) => now.includes(t))));
      const shown = maybeCreated && (await this.ledTopics(topics, CREATED_TOPICS_SHOW_MS));
      if (!shown) {
        throw new PushtechError('PT_ERR_KAFKA_ADMIN', `cannot create topics: ${describeCreation(error)}`, {
          cause: error,
        });
      }
    }
    return missing.map((s) => s.topic);
  }

  /** Whether every topic is listed and each of its partitions has a leader, within the time. */
  private async ledTopics(topics: readonly string[], timeoutMs: number): Promise<boolean> {
    try {
      await whileLeadersSettle(
        async () => {
          const listed = new Set(await this.admin.listTopics());
          const absent = topics.find((t) => !listed.has(t));
          if (absent !== undefined) throw unsettled('UNKNOWN_TOPIC_OR_PARTITION', `topic ${absent} is not listed`);
          const metadata = await this.admin.fetchTopicMetadata({ topics: [...topics] });
          const unled = metadata.topics.find(
            (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
          );
          if (unled !== undefined) throw unsettled('LEADER_NOT_AVAILABLE', `topic ${unled.name} has no leader yet`);
        },
        timeoutMs,
        APPLYING,
      );
      return true;
    } catch {
      return false;
    }
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async describeCluster(): Promise<{ clusterId: string; brokers: { nodeId: number; host: string; port: number }[] }> {
    const cluster = await this.admin.describeCluster();
    return {
      clusterId: cluster.clusterId,
      brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
    };
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({ topics: [...topics] });
  }

  async topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await whileLeadersSettle(() => this.admin.fetchTopicOffsets(topic));
    return offsets
      .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
      .sort((a, b) => a.partition - b.partition);
  }

  async offsetsForTimestamp(topic: string, ts: number): Promise<{ partition: number; offset: string }[]> {
    const offsets = await whileLeadersSettle(() => this.admin.fetchTopicOffsetsByTimestamp(topic, ts));
    return offsets.map((o) => ({ partition: o.partition, offset: o.offset })).sort((a, b) => a.partition - b.partition);
  }

  async topicLimits(topic: string): Promise<TopicLimits> {
    try {
      const metadata = await this.admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (partitions === 0) throw new Error(`topic ${topic} has no partitions (does it exist?)`);
      const described = await this.admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
        includeSynonyms: false,
      });
      const entry = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
      if (entry !== undefined && Number.isSafeInteger(Number(entry.configValue))) {
        const source = entry.configSource === ConfigSource.TOPIC_CONFIG ? 'topic' : 'broker';
        return { topic, partitions, maxMessageBytes: Number(entry.configValue), maxMessageBytesSource: source };
      }
      // A broker that does not report the topic's effective value: its own message.max.bytes applies.
      const { brokers } = await this.admin.describeCluster();
      const brokerConfig = await this.admin.describeConfigs({
        resources: [
          {
            type: ConfigResourceTypes.BROKER,
            name: String(brokers[0]?.nodeId ?? 0),
            configNames: ['message.max.bytes'],
          },
        ],
        includeSynonyms: false,
      });
      const value = Number(brokerConfig.resources[0]?.configEntries[0]?.configValue);
      if (!Number.isSafeInteger(value)) throw new Error('the broker reports no message.max.bytes');
      return { topic, partitions, maxMessageBytes: value, maxMessageBytesSource: 'broker' };
    } catch (error: unknown) {
      throw new PushtechError(
        'PT_ERR_KAFKA_ADMIN',
        `cannot read the limits of topic ${topic}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async alterTopicConfig(topic: string, config: Readonly<Record<string, string>>): Promise<void> {
    // Non-incremental AlterConfigs replaces the topic's whole override set: keep the others.
    const current = await this.admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    });
    const kept = (current.resources[0]?.configEntries ?? [])
      .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && !(e.configName in config))
      .map((e) => ({ name: e.configName, value: e.configValue }));
    await this.admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [...kept, ...Object.entries(config).map(([name, value]) => ({ name, value }))],
        },
      ],
    });
  }

  async groupOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
    const [result] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? [])
      .map((p) => ({ partition: p.partition, offset: p.offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * The node that coordinates a group now, as the cluster answers FindCoordinator (kafkajs's
   * admin does not expose it; @platformatic/kafka's does, with the same connection settings).
   * Imported here, not at the top: a process that never asks (kafidx) is spared its ~50 MB.
   */
  async groupCoordinator(groupId: string): Promise<number> {
    const { Admin: PlatformaticAdmin, FindCoordinatorKeyTypes } = await import('@platformatic/kafka');
    const admin = new PlatformaticAdmin({
      clientId: this.connection.clientId,
      bootstrapBrokers: [...this.connection.brokers],
      ...platformaticSecurity(this.connection),
    });
    try {
      const [found] = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [groupId] });
      if (found === undefined) throw new Error(`the cluster named no coordinator for group ${groupId}`);
      return found.nodeId;
    } finally {
      await admin.close();
    }
  }

  async listGroups(): Promise<string[]> {
    return (await this.admin.listGroups()).groups.map((g) => g.groupId);
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length > 0) await this.admin.deleteGroups([...groupIds]);
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}

export function createAdmin(connection: KafkaConnection, logger: Logger): KafkaAdmin {
  return new KafkajsAdmin(createKafkaClient(connection, logger).admin(), connection);
}
