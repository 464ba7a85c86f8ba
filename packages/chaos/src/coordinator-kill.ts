import { randomBytes } from 'node:crypto';
import { partitionPlacements, type KafkaCluster } from '@pushtech/devstack';
import {
  createAdmin,
  createConsumer,
  createProducer,
  silentLogger,
  useKafkajsFailoverPatches,
  type EventConsumer,
} from '@pushtech/runtime';
import { allInSync, ledByLiving, placementsOnce } from './placements.js';
import { sleep } from './sleep.js';

/** Kafka's own topic of group metadata and committed offsets. */
const OFFSETS_TOPIC = '__consumer_offsets';
/** How long the coordinator's two answers (FindCoordinator, the offsets partition's leader) may disagree. */
const AGREE_TIMEOUT_MS = 10_000;
const ELECTION_TIMEOUT_MS = 60_000;
const REJOIN_TIMEOUT_MS = 120_000;
const READ_TIMEOUT_MS = 60_000;

/** The group's coordinator moved before the kill: the run says nothing; run it again. */
export class CoordinatorMoved extends Error {
  override readonly name = 'CoordinatorMoved';
}

/** What one coordinator kill showed. */
export interface CoordinatorKill {
  readonly groupId: string;
  readonly killedNode: number;
  /** From the SIGKILL until the group's partition of `__consumer_offsets` had a living leader. */
  readonly electionMs: number;
  /**
   * From that election until an offset commit succeeded again without the member rejoining its
   * group since the kill, the node still down; -1: none in the window. kafkajs as published
   * reaches the new coordinator only by rejoining (after its retries run out and it restarts).
   */
  readonly commitResumedMs: number;
  /** Times the member rejoined its group between the kill and the window's end. */
  readonly rejoinsAfterKill: number;
  /** How long the window was. */
  readonly windowMs: number;
  /** Messages produced after the election that the group read in the window. */
  readonly readAfterElection: number;
  readonly producedAfterElection: number;
  /** Whether the group's committed offsets equal the topic's end once the window closed. */
  readonly committedToEnd: boolean;
  /** Times the consumer ended for good (kafkajs gave up restarting it): it must not. */
  readonly crashes: number;
}

/**
 * The partition of `__consumer_offsets` that holds a group, hence whose leader coordinates it:
 * Kafka's `Utils.abs(groupId.hashCode()) % partitions`, with Java's String.hashCode. Kafka's
 * `abs` is `Math.abs` with Integer.MIN_VALUE taken as 0, not the sign bit masked off (that is
 * the producer's `toPositive`): for a negative hash the two name different partitions.
 */
export function offsetsPartitionOf(groupId: string, partitions: number): number {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(31, hash) + groupId.charCodeAt(i)) | 0;
  return (hash === -0x80000000 ? 0 : Math.abs(hash)) % partitions;
}

/**
 * A consumer group of the runtime's consumer (kafkajs) reads a replicated topic and commits
 * after every batch; the node that coordinates the group is SIGKILLed and kept down for
 * `windowMs` after the election while messages keep coming; then it is started again and
 * waited for until every replica is in sync. `patched: false` runs kafkajs as published (the
 * control). Leaves the cluster as it found it.
 */
export async function killGroupCoordinator(
  cluster: KafkaCluster,
  options: CoordinatorKillOptions,
): Promise<CoordinatorKill> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptCoordinatorKill(cluster, options);
    } catch (error: unknown) {
      if (!(error instanceof CoordinatorMoved) || attempt >= 3) throw error;
      options.log?.(`coordinator kill: ${error.message}; again with a new group`);
    }
  }
}

interface CoordinatorKillOptions {
  readonly patched: boolean;
  readonly windowMs: number;
  readonly log?: (line: string) => void;
}

async function attemptCoordinatorKill(
  cluster: KafkaCluster,
  options: CoordinatorKillOptions,
): Promise<CoordinatorKill> {
  const log = options.log ?? (() => undefined);
  const brokers = cluster.brokers;
  const connection = { brokers: brokers.split(','), clientId: 'chaos-coordinator-kill' };
  const suffix = randomBytes(4).toString('hex');
  const topic = `chaos-coordinator-${suffix}`;
  const groupId = `chaos-coordinator-group-${suffix}`;
  const admin = createAdmin(connection, silentLogger());
  const producer = createProducer(connection, silentLogger());
  let consumer: EventConsumer | undefined;
  useKafkajsFailoverPatches(options.patched);
  try {
    await admin.connect();
    await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }]);
    await producer.connect();
    const read = new Set<string>();
    let commits = 0;
    let crashes = 0;
    let joins = 0;
    // The node the member will find as its coordinator when it joins.
    const coordinatorBefore = await admin.groupCoordinator(groupId);
    consumer = createConsumer(connection, silentLogger(), {
      groupId,
      topics: [topic],
      fromBeginning: true,
      maxWaitMs: 100,
      commitIntervalMs: 0,
      onCommit: () => (commits += 1),
      onJoin: () => (joins += 1),
    });
    consumer.onCrash(() => (crashes += 1));
    await consumer.start((batch) => {
      for (const m of batch.messages) read.add(m.value?.toString('utf8') ?? '');
      return Promise.resolve();
    });
    const send = async (from: number, count: number): Promise<void> => {
      const values = Array.from({ length: count }, (_, i) => ({ value: `m${from + i}` }));
      // Retried: while the dead node's partitions have no leader yet a send can be refused.
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.send(topic, values);
          return;
        } catch (error: unknown) {
          if (attempt >= 20) throw error;
          await sleep(500);
        }
      }
    };
    const readAll = async (count: number, timeoutMs: number): Promise<boolean> => {
      const deadline = Date.now() + timeoutMs;
      while (read.size < count && Date.now() < deadline) await sleep(100);
      return read.size >= count;
    };
    await send(0, 50);
    if (!(await readAll(50, READ_TIMEOUT_MS)) || commits === 0) {
      throw new Error(`the group read ${read.size} of 50 messages and committed ${commits} times before the kill`);
    }
    // The node the cluster names now, and the leader of the group's partition of the offsets
    // topic, must agree (both are the coordinator), and it must be the node the member found when
    // it joined: a preferred-leader election (after an earlier kill, the node back) can move the
    // group meanwhile, and then the node killed would not be the member's coordinator.
    // Each answer comes from whichever node was asked: one still applying the metadata log (a
    // node slowed down by a busy machine) can name the old leader for a while, so they are asked
    // again until they agree.
    let held: number;
    let leader: number;
    let killedNode: number;
    const agreeBy = Date.now() + AGREE_TIMEOUT_MS;
    for (;;) {
      const offsets = await partitionPlacements(brokers, OFFSETS_TOPIC);
      held = offsetsPartitionOf(groupId, offsets.length);
      leader = offsets.find((p) => p.partition === held)?.leader ?? -1;
      killedNode = await admin.groupCoordinator(groupId);
      if (killedNode === leader || Date.now() >= agreeBy) break;
      await sleep(500);
    }
    if (killedNode !== leader || killedNode !== coordinatorBefore || joins !== 1) {
      throw new CoordinatorMoved(
        `${groupId}: coordinator node ${coordinatorBefore} when the member joined, node ${killedNode} now ` +
          `(the leader of its offsets partition ${held}: node ${leader}), ${joins} join(s)`,
      );
    }
    if (!cluster.node(killedNode)) throw new Error(`node ${killedNode}, the coordinator of ${groupId}, is not running`);
    const killedAt = Date.now();
    const joinsAtKill = joins;
    await cluster.kill(killedNode);
    log(`coordinator kill: node ${killedNode} (coordinator of ${groupId}) SIGKILLed`);
    await placementsOnce(
      brokers,
      OFFSETS_TOPIC,
      ledByLiving(killedNode),
      ELECTION_TIMEOUT_MS,
      `every partition of ${OFFSETS_TOPIC} led by a living node`,
    );
    const electedAt = Date.now();
    const commitsAtElection = commits;
    await send(50, 50);
    const committedUpToEnd = async (): Promise<boolean> => {
      const ends = await admin.topicOffsets(topic);
      const committed = await admin.groupOffsets(groupId, topic);
      return ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.high);
    };
    let commitResumedMs = -1;
    let committedToEnd = false;
    while (Date.now() < electedAt + options.windowMs) {
      if (commitResumedMs < 0 && joins === joinsAtKill && commits > commitsAtElection) {
        commitResumedMs = Date.now() - electedAt;
      }
      // The last batch's commit may still be on its way when the batch was read.
      if (commitResumedMs >= 0 && read.size >= 100 && (await committedUpToEnd().catch(() => false))) {
        committedToEnd = true;
        break;
      }
      await sleep(100);
    }
    if (!committedToEnd) committedToEnd = await committedUpToEnd();
    const readAfterElection = Math.max(0, read.size - 50);
    const rejoinsAfterKill = joins - joinsAtKill;
    log(
      `coordinator kill: election ${electedAt - killedAt} ms; commit again after ${commitResumedMs} ms; ` +
        `${readAfterElection} of 50 read; ${rejoinsAfterKill} rejoin(s); the consumer ended ${crashes} time(s)`,
    );
    await consumer.stop().catch(() => undefined);
    consumer = undefined;
    await cluster.startNode(killedNode);
    for (const t of [OFFSETS_TOPIC, topic]) {
      await placementsOnce(brokers, t, allInSync, REJOIN_TIMEOUT_MS, `node ${killedNode} back in sync on ${t}`);
    }
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics([topic]).catch(() => undefined);
    return {
      groupId,
      killedNode,
      electionMs: electedAt - killedAt,
      commitResumedMs,
      rejoinsAfterKill,
      windowMs: options.windowMs,
      readAfterElection,
      producedAfterElection: 50,
      committedToEnd,
      crashes,
    };
  } finally {
    useKafkajsFailoverPatches(true);
    await consumer?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
