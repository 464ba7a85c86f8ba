import { activeController, busiestLeader, partitionPlacements, type KafkaCluster } from '@pushtech/devstack';
import type { Sighting } from '../auditor.js';
import type { Followers } from '../followers.js';
import type { Check, Fault, ScenarioContext, ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { allInSync, ledByLiving, placementsOnce } from '../placements.js';
import { sleep } from '../sleep.js';

/** Three combined broker+controller nodes: replication factor 3, min.insync.replicas 2. */
const NODES = 3;
/** The pipeline's topic as the devstack makes it (KAFKA_TOPIC_PARTITIONS' default): two led per node. */
const PARTITIONS = 6;
/** A SIGKILLed broker is fenced after broker.session.timeout.ms (9 s), then leaders move. */
const ELECTION_TIMEOUT_MS = 60_000;
/** A restarted node catching up: the time its replicas take to be back in sync. */
const REJOIN_TIMEOUT_MS = 120_000;
/** Longest wait, the node still down, for the consumer to read from the new leaders. */
const CONSUMER_TIMEOUT_MS = 30_000;
/** Seconds a killed node stays down at least before it is started again. */
const DOWN_SECONDS = 5;
/** Room after the fault for a node restart (tens of seconds on two shared cores) and the tail. */
const RESTART_AND_TAIL_SECONDS = 40;
/**
 * Load per node of a rolling restart (60 s for all three with the warm-up: `npm run chaos`'s
 * default). A restart can outlast it on a busy machine; the scenario then ends after the load.
 */
const ROLL_SECONDS = 19;
/** kafkastore's KAFKASTORE_BATCH default: at most this many events are in flight per batch. */
const KAFKASTORE_BATCH = 500;

const recovery =
  'from every partition of the topic having a leader on a living node again until the first event ' +
  'acknowledged after that moment was appended to Kafka';

function clusterOf(ctx: ScenarioContext): KafkaCluster {
  const cluster = ctx.broker?.cluster;
  if (!cluster) throw new Error('the scenario needs a Kafka cluster of its own (kafkaNodes: 3)');
  return cluster;
}

/** What the auditor (a consumer group member like the consumers and kafidx) read so far. */
function readSoFar(ctx: ScenarioContext): number {
  return ctx.auditor.messages;
}

/**
 * SIGKILLs one node while the load runs, waits until its partitions have new leaders, keeps it
 * down a few seconds, starts it again and waits until its replicas are back in sync.
 */
async function killAndRestart(
  ctx: ScenarioContext,
  pick: (cluster: KafkaCluster) => Promise<{ nodeId: number; why: string }>,
  label: string,
  followers: Followers,
): Promise<{
  fault: Omit<Fault, 'recoveryMs'>;
  evidence: Record<string, number>;
  checks: Check[];
}> {
  const cluster = clusterOf(ctx);
  const { topic } = ctx.pod.options.topics;
  const { nodeId, why } = await pick(cluster);
  const node = cluster.node(nodeId);
  if (!node) throw new Error(`${label}: node ${nodeId} is not running`);
  // The partitions whose leader dies: a reader follows the new leaders when it gets what they
  // appended after the election (every partition when the node led none, as a controller may).
  const led = (await partitionPlacements(cluster.brokers, topic)).filter((p) => p.leader === nodeId);
  const moved = led.length > 0 ? new Set(led.map((p) => p.partition)) : undefined;
  const movedText = moved ? `partition(s) ${[...moved].join(', ')}` : 'any partition (it led none)';
  const inFlightBefore = (await ctx.pod.inFlight()) ?? 0;
  const readBefore = readSoFar(ctx);
  const killedAt = Date.now();
  await cluster.kill(nodeId);
  const exit = await node.process.exited;
  ctx.log(`${label}: node ${nodeId} (${why}) SIGKILLed`);
  const elected = await placementsOnce(
    cluster.brokers,
    topic,
    ledByLiving(nodeId),
    ELECTION_TIMEOUT_MS,
    `${label}: every partition led by a living node`,
  );
  ctx.log(`${label}: new leaders after ${elected.at - killedAt} ms`);
  // With the node still dead, the consumer can only read what the new leaders serve: wait until
  // it read something new after the election (kafkastore retries the dead leader's partitions
  // before it takes its next batch, so little arrives in between).
  const readAtElection = readSoFar(ctx);
  const resumedBy = Date.now() + CONSUMER_TIMEOUT_MS;
  while (readSoFar(ctx) === readAtElection && Date.now() < resumedBy) await sleep(100);
  const consumerResumedMs = readSoFar(ctx) > readAtElection ? Date.now() - elected.at : -1;
  // The same for the consumers service (its count rises again) and kafidx (its watching viewer
  // gets events the new leaders appended after the election), nothing restarted.
  const countedAtElection = (await followers.progress()).counted;
  const kafidxViewed = (): number => followers.viewer.receivedSince(elected.at, moved);
  let consumersResumedMs = -1;
  let kafidxResumedMs = -1;
  while ((consumersResumedMs < 0 || kafidxResumedMs < 0) && Date.now() < resumedBy + CONSUMER_TIMEOUT_MS) {
    if (consumersResumedMs < 0 && (await followers.progress()).counted > countedAtElection) {
      consumersResumedMs = Date.now() - elected.at;
    }
    if (kafidxResumedMs < 0 && kafidxViewed() > 0) kafidxResumedMs = Date.now() - elected.at;
    if (consumersResumedMs < 0 || kafidxResumedMs < 0) await sleep(200);
  }
  // The control: the viewer that paused before the fault got none of them, so the same count is
  // 0 for a viewer kafidx sends nothing to, and the check above reports that.
  const pausedViewed = followers.pausedViewer.receivedSince(elected.at, moved);
  const viewedAfterElection = kafidxViewed();
  const readWhileDown = readSoFar(ctx) - readBefore;
  await sleep(killedAt + DOWN_SECONDS * 1000 - Date.now());
  const restartedAt = Date.now();
  await cluster.startNode(nodeId);
  const rejoined = await placementsOnce(
    cluster.brokers,
    topic,
    allInSync,
    REJOIN_TIMEOUT_MS,
    `${label}: node ${nodeId} back in sync`,
  );
  ctx.log(`${label}: node ${nodeId} back in sync ${rejoined.at - restartedAt} ms after its restart`);
  return {
    fault: { what: `${label}: node ${nodeId} (${why}) SIGKILLed`, startedAt: killedAt, endedAt: elected.at },
    evidence: {
      killedNode: nodeId,
      electionMs: elected.at - killedAt,
      rejoinMs: rejoined.at - restartedAt,
      inFlightAtKill: inFlightBefore,
      readByConsumerWhileDown: readWhileDown,
      consumerResumedMs,
      consumersServiceResumedMs: consumersResumedMs,
      kafidxResumedMs,
      kafidxViewedAfterElection: viewedAfterElection,
      kafidxPausedViewerAfterElection: pausedViewed,
    },
    checks: [
      {
        name: `${label}: the node was killed (SIGKILL), not stopped`,
        ok: exit === 'SIGKILL',
        detail: `node ${nodeId} exited with ${String(exit)}`,
      },
      {
        name: `${label}: every partition got a leader on a living node`,
        ok: true,
        detail: `after ${elected.at - killedAt} ms: ${elected.placements.map((p) => `${p.partition}->${p.leader}`).join(' ')}`,
      },
      {
        name: `${label}: the consumer followed the new leaders without a restart`,
        ok: consumerResumedMs >= 0,
        detail:
          consumerResumedMs >= 0
            ? `it read again ${consumerResumedMs} ms after the election, the node still down (${readWhileDown} read since the kill)`
            : `nothing read within ${CONSUMER_TIMEOUT_MS} ms after the election`,
      },
      {
        name: `${label}: the consumers service followed the new leaders, not restarted`,
        ok: consumersResumedMs >= 0 && followers.consumers.alive,
        detail:
          `event_counter counting again ${consumersResumedMs} ms after the election (-1: not within ` +
          `${2 * CONSUMER_TIMEOUT_MS} ms); ${followers.consumers.alive ? 'the first process' : 'the process exited'}`,
      },
      {
        name: `${label}: kafidx followed the new leaders, not restarted`,
        ok: kafidxResumedMs >= 0 && followers.kafidx.alive,
        detail:
          `its watching viewer got the first event the new leaders of ${movedText} appended after the election ` +
          `${kafidxResumedMs} ms after it (-1: not within ${2 * CONSUMER_TIMEOUT_MS} ms; ${viewedAfterElection} ` +
          `such events by then); ${followers.kafidx.alive ? 'the first process' : 'the process exited'}`,
      },
      {
        name: `${label}: control: a kafidx viewer paused before the kill got none of them`,
        ok: pausedViewed === 0 && viewedAfterElection > 0,
        detail: `the paused viewer got ${pausedViewed} events appended after the election on ${movedText}, the watching one ${viewedAfterElection}`,
      },
      {
        name: `${label}: the node came back and its replicas are in sync again`,
        ok: true,
        detail: `in sync ${rejoined.at - restartedAt} ms after the restart`,
      },
    ],
  };
}

/**
 * Runs `body` after the warm-up, once the consumers service and kafidx (started beside the pod)
 * have read something.
 */
async function withFollowers<T>(ctx: ScenarioContext, body: (followers: Followers) => Promise<T>): Promise<T> {
  const followers = ctx.followers;
  if (!followers) throw new Error('the scenario needs the consumers service and kafidx (followers: true)');
  await ctx.at(warmupSeconds(ctx.options));
  const readingBy = Date.now() + CONSUMER_TIMEOUT_MS;
  const reading = async (): Promise<boolean> =>
    (await followers.progress()).counted > 0 && followers.viewer.received > 0 && followers.pausedViewer.received > 0;
  while (!(await reading()) && Date.now() < readingBy) await sleep(200);
  // Both viewers got events; the control one pauses now (kafidx goes on reading for the other).
  await followers.pausedViewer.pause(CONSUMER_TIMEOUT_MS);
  const progress = await followers.progress();
  ctx.log(
    `followers: consumers counted ${progress.counted}, kafidx's viewers got ${followers.viewer.received} and ` +
      `${followers.pausedViewer.received} (then paused) before the fault`,
  );
  return body(followers);
}

/** Checks every failover scenario makes once the load ended. */
function commonChecks(
  ctx: ScenarioContext,
  faults: readonly Omit<Fault, 'recoveryMs'>[],
  view: { acks: ScenarioContext['acks']; seen: ReadonlyMap<string, Sighting> },
): { evidence: Record<string, number>; checks: Check[] } {
  const ackedDuring = faults.reduce((n, f) => n + view.acks.countBetween(f.startedAt, f.endedAt), 0);
  let duplicated = 0;
  for (const sighting of view.seen.values()) duplicated += Math.max(0, sighting.count - 1);
  // A batch whose acknowledgement died with its leader is sent again whole: at most one batch
  // per partition the dead leader held (PARTITIONS / NODES), plus one in flight, per fault.
  const batchesPerFault = PARTITIONS / NODES + 1;
  const bound = faults.length * KAFKASTORE_BATCH * batchesPerFault;
  const kafkastore = ctx.pod.kafkastore;
  return {
    evidence: { ackedDuringFaults: ackedDuring, duplicatedCopies: duplicated, duplicateBound: bound },
    checks: [
      {
        name: 'the tracker kept acknowledging while leaders moved',
        ok: ackedDuring > 0,
        detail: `${ackedDuring} acknowledged between the faults and the new leaders`,
      },
      {
        name: 'duplicates only from batches re-sent after a lost acknowledgement',
        ok: duplicated <= bound,
        detail: `${duplicated} extra copies; at most ${bound} (${batchesPerFault} batches of ${KAFKASTORE_BATCH} per fault, ${faults.length} fault(s))`,
      },
      {
        name: 'the same kafkastore process recovered by itself',
        ok: ctx.pod.kafkastoreRuns.length === 1 && kafkastore?.alive === true,
        detail: `${ctx.pod.kafkastoreRuns.length} kafkastore process(es), ${kafkastore?.alive ? 'alive' : 'not running'}`,
      },
    ],
  };
}

export const kafkaLeaderKill: ScenarioDefinition = {
  name: 'kafka-leader-kill',
  title: 'Kafka broker leading most partitions SIGKILLed (3-node cluster)',
  description:
    'A KRaft cluster of three combined nodes (replication 3, min.insync.replicas 2). After the warm-up the node ' +
    'leading most partitions of the topic is SIGKILLed, stays down 5 s, is started again on its ports and data ' +
    'and waited for until its replicas are in sync.',
  recoveryDefinition: recovery,
  ownBroker: true,
  kafkaNodes: NODES,
  topicPartitions: PARTITIONS,
  followers: true,
  minDurationSeconds: (o) => warmupSeconds(o) + DOWN_SECONDS + RESTART_AND_TAIL_SECONDS,
  async inject(ctx) {
    const { topic } = ctx.pod.options.topics;
    const run = await withFollowers(ctx, (followers) =>
      killAndRestart(
        ctx,
        async (cluster) => {
          const busiest = busiestLeader(await partitionPlacements(cluster.brokers, topic));
          return { nodeId: busiest.nodeId, why: `leader of ${busiest.partitions} partitions` };
        },
        'leader kill',
        followers,
      ),
    );
    return {
      faults: [run.fault],
      evaluate: (view) => {
        const common = commonChecks(ctx, [run.fault], view);
        return { evidence: { ...run.evidence, ...common.evidence }, checks: [...run.checks, ...common.checks] };
      },
    };
  },
};

export const kafkaControllerKill: ScenarioDefinition = {
  name: 'kafka-controller-kill',
  title: 'Active KRaft controller SIGKILLed (3-node cluster)',
  description:
    "As kafka-leader-kill, but the node killed is the active controller (the quorum leader, asked with Kafka's " +
    "MetadataQuorumCommand); another node must take over the quorum and the dead broker's partitions.",
  recoveryDefinition: recovery,
  ownBroker: true,
  kafkaNodes: NODES,
  topicPartitions: PARTITIONS,
  followers: true,
  minDurationSeconds: (o) => warmupSeconds(o) + DOWN_SECONDS + RESTART_AND_TAIL_SECONDS,
  async inject(ctx) {
    const cluster = clusterOf(ctx);
    const run = await withFollowers(ctx, (followers) =>
      killAndRestart(
        ctx,
        async (c) => ({ nodeId: await activeController(c), why: 'the active controller' }),
        'controller kill',
        followers,
      ),
    );
    const newController = await activeController(cluster);
    return {
      faults: [run.fault],
      evaluate: (view) => {
        const common = commonChecks(ctx, [run.fault], view);
        return {
          evidence: { ...run.evidence, newController, ...common.evidence },
          checks: [
            ...run.checks,
            {
              name: 'another node became the active controller',
              ok: newController !== run.evidence['killedNode'] && newController > 0,
              detail: `node ${newController} leads the quorum after node ${run.evidence['killedNode']} was killed`,
            },
            ...common.checks,
          ],
        };
      },
    };
  },
};

export const kafkaRollingRestart: ScenarioDefinition = {
  name: 'kafka-rolling-restart',
  title: 'Rolling restart of all three Kafka nodes',
  description:
    'Each node in turn is stopped cleanly (SIGTERM: controlled shutdown moves its leaders first), started again ' +
    'on its ports and data, and waited for until every replica is in sync, as an upgrade does.',
  recoveryDefinition: 'from the restarted node answering until the first event acknowledged after that was appended',
  ownBroker: true,
  kafkaNodes: NODES,
  topicPartitions: PARTITIONS,
  minDurationSeconds: (o) => warmupSeconds(o) + NODES * ROLL_SECONDS,
  async inject(ctx) {
    await ctx.at(warmupSeconds(ctx.options));
    const cluster = clusterOf(ctx);
    const { topic } = ctx.pod.options.topics;
    const faults: Omit<Fault, 'recoveryMs'>[] = [];
    const exits: string[] = [];
    const evidence: Record<string, number> = {};
    for (const nodeId of cluster.nodeIds) {
      const node = cluster.node(nodeId);
      if (!node) throw new Error(`rolling restart: node ${nodeId} is not running`);
      const stoppedAt = Date.now();
      await cluster.stopNode(nodeId);
      exits.push(`${nodeId}:${String(await node.process.exited)}`);
      await cluster.startNode(nodeId);
      const backAt = Date.now();
      const synced = await placementsOnce(
        cluster.brokers,
        topic,
        allInSync,
        REJOIN_TIMEOUT_MS,
        `rolling restart: node ${nodeId} back in sync`,
      );
      ctx.log(`rolling restart: node ${nodeId} down ${backAt - stoppedAt} ms, in sync ${synced.at - backAt} ms later`);
      evidence[`node${nodeId}DownMs`] = backAt - stoppedAt;
      evidence[`node${nodeId}SyncMs`] = synced.at - backAt;
      faults.push({ what: `node ${nodeId} restarted`, startedAt: stoppedAt, endedAt: backAt });
    }
    return {
      faults,
      evaluate: (view) => {
        const common = commonChecks(ctx, faults, view);
        // The JVM ends a SIGTERM's controlled shutdown with 143 (128 + 15); SIGKILL means it hung.
        const clean = exits.every((e) => e.endsWith(':0') || e.endsWith(':143'));
        return {
          evidence: { ...evidence, ...common.evidence },
          checks: [
            {
              name: 'every node was stopped cleanly and restarted',
              ok: clean && exits.length === NODES,
              detail: `exit codes by node: ${exits.join(', ')}`,
            },
            ...common.checks,
          ],
        };
      },
    };
  },
};
