import { createRequire } from 'node:module';
import { causeChain, type KafkaErrorLink } from './error-chain.js';

/**
 * kafkajs 2.2.4 does not follow a Kafka node that dies to the nodes that take over its roles;
 * two patches here make its consumers do what the Java client does.
 *
 * Partition leaders: a consumer does not refresh its cluster metadata when a fetch cannot reach
 * a partition's leader (the broker was killed): it retries the same dead node with backoff, and
 * learns of the new leaders only when its metadata ages out (5 min), its group coordinator
 * moves, or the retries run out and the consumer restarts. In the chaos suite's leader kills
 * (three-node cluster, 2,000 events/s) kafidx and event_counter read the moved partitions again
 * 0.3 to 34 s after the election, once not within 60 s. Here a fetch that fails to connect asks
 * the cluster who leads now before the error goes on to the runner's retry, so the retry after
 * the election fetches from the new leader.
 *
 * The group coordinator: a group's heartbeats and offset commits go to the node that was its
 * coordinator when the member joined. When that node dies, kafkajs reconnects to the same node
 * (refused while it is down; "not the coordinator" once it is back, because another node took
 * the group over), for as long as the member stays in the group: in the chaos suite, 35 s of
 * failed commits after the node was back, still failing when the consumer was stopped. Here a
 * heartbeat or commit that finds the coordinator gone or moved asks the cluster which node
 * coordinates the group now and sends there (a heartbeat once more at once, a commit on its
 * next try), so the member stays in its group: no rejoin, no rebalance.
 */
interface Broker {
  isConnected(): boolean;
}

interface Cluster {
  refreshMetadata(): Promise<void>;
  findGroupCoordinator(options: { groupId: string }): Promise<Broker>;
}

interface ConsumerGroup {
  groupId: string;
  cluster: Cluster;
  coordinator: Broker | null;
  offsetManager?: OffsetManager;
  recoverFromFetch: (this: ConsumerGroup, error: unknown) => Promise<void>;
  heartbeat: (this: ConsumerGroup, options: { interval: number }) => Promise<void>;
}

interface OffsetManager {
  groupId: string;
  cluster: Cluster;
  coordinator: Broker;
  /** Set here when the coordinator answered that it no longer is one. */
  coordinatorMoved?: boolean;
  getCoordinator: (this: OffsetManager) => Promise<Broker>;
  commitOffsets: (this: OffsetManager, offsets?: unknown) => Promise<void>;
}

const require = createRequire(import.meta.url);
const group = (require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroup }).prototype;
const offsets = (require('kafkajs/src/consumer/offsetManager/index.js') as { prototype: OffsetManager }).prototype;

const unreachable = (e: KafkaErrorLink): boolean =>
  e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSConnectionClosedError';
const notCoordinator = (e: KafkaErrorLink): boolean =>
  e.type === 'NOT_COORDINATOR_FOR_GROUP' || e.type === 'GROUP_COORDINATOR_NOT_AVAILABLE';

/** The coordinator is dead or no longer coordinates this group: it must be looked up again. */
function coordinatorLost(error: unknown): boolean {
  return causeChain(error).some((e) => unreachable(e) || notCoordinator(e));
}

const original = {
  recoverFromFetch: group.recoverFromFetch,
  heartbeat: group.heartbeat,
  getCoordinator: offsets.getCoordinator,
  commitOffsets: offsets.commitOffsets,
};

const patched = {
  async recoverFromFetch(this: ConsumerGroup, error: unknown): Promise<void> {
    if ((error as KafkaErrorLink | null)?.name === 'KafkaJSConnectionError') {
      // During the election the answer may still name the dead node; the next retry asks again.
      await this.cluster.refreshMetadata().catch(() => undefined);
    }
    return original.recoverFromFetch.call(this, error);
  },

  async heartbeat(this: ConsumerGroup, options: { interval: number }): Promise<void> {
    try {
      return await original.heartbeat.call(this, options);
    } catch (error: unknown) {
      if (!coordinatorLost(error)) throw error;
      // While the election runs the cluster may not name a coordinator yet: then the error goes
      // on to the runner, whose retry comes back here.
      const coordinator = await this.cluster.findGroupCoordinator({ groupId: this.groupId }).catch(() => undefined);
      if (!coordinator) throw error;
      this.coordinator = coordinator;
      if (this.offsetManager) {
        this.offsetManager.coordinator = coordinator;
        this.offsetManager.coordinatorMoved = false;
      }
      return original.heartbeat.call(this, options);
    }
  },

  async getCoordinator(this: OffsetManager): Promise<Broker> {
    if (this.coordinatorMoved === true || !this.coordinator.isConnected()) {
      this.coordinator = await this.cluster.findGroupCoordinator({ groupId: this.groupId });
      this.coordinatorMoved = false;
    }
    return this.coordinator;
  },

  async commitOffsets(this: OffsetManager, request?: unknown): Promise<void> {
    try {
      return await original.commitOffsets.call(this, request);
    } catch (error: unknown) {
      // The next commit (the runner's retry, or the consumer's own next try) asks the cluster first.
      if (causeChain(error).some(notCoordinator)) this.coordinatorMoved = true;
      throw error;
    }
  },
};

/**
 * Turns the patches on (as importing this module does) or off: off is kafkajs as published,
 * which the chaos suite's control runs to show that its check sees the failure.
 */
export function useKafkajsFailoverPatches(on: boolean): void {
  const use = on ? patched : original;
  group.recoverFromFetch = use.recoverFromFetch;
  group.heartbeat = use.heartbeat;
  offsets.getCoordinator = use.getCoordinator;
  offsets.commitOffsets = use.commitOffsets;
}

useKafkajsFailoverPatches(true);
