import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runLoad, seededRandom, type LoadResult } from '@pushtech/loadgen';
import { Acknowledgements, median, recoveryMs, summarize } from './audit.js';
import { Auditor } from './auditor.js';
import { Broker } from './broker.js';
import { ConsumerStack } from './consumer-stack.js';
import { Followers } from './followers.js';
import { Pod } from './pod.js';
import { entriesIn } from './redis-command.js';
import {
  ChaosUsageError,
  defaultOptions,
  type ChaosEnvironment,
  type Check,
  type FaultRun,
  type LossClues,
  type ResolvedOptions,
  type ScenarioDefinition,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenario.js';
import { sleep } from './sleep.js';
import { scenarios } from './scenarios/index.js';
import { Scope } from './scope.js';
import { SinkStack } from './sink-stack.js';
import { createAuditTopics, deleteAuditTopics, type AuditTopics } from './topics.js';

export function resolveOptions(definition: ScenarioDefinition, options: ScenarioOptions): ResolvedOptions {
  const resolved: ResolvedOptions = { ...defaultOptions, seed: Date.now() % 1_000_000_007, ...options };
  const positive: (keyof Omit<ResolvedOptions, 'redisAppendFsync' | 'secondKafkastoreLease' | 'kafkaClient'>)[] = [
    'rate',
    'durationSeconds',
    'connections',
    'settleTimeoutMs',
    'killEverySeconds',
    'kafkaOutageSeconds',
    'redisDownSeconds',
    'consumerOutageSeconds',
    'postgresKills',
    'postgresDownSeconds',
  ];
  for (const key of positive) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value <= 0) {
      throw new ChaosUsageError(`${definition.name}: ${key} must be a positive number, got ${String(value)}`);
    }
  }
  const minimum = definition.minDurationSeconds(resolved);
  if (resolved.durationSeconds < minimum) {
    throw new ChaosUsageError(
      `${definition.name}: a load of ${resolved.durationSeconds} s is too short for this scenario with these ` +
        `settings; give it at least ${Math.ceil(minimum)} s`,
    );
  }
  return resolved;
}

/**
 * Runs one scenario end to end: its own Redis, tracker and kafkastore (and broker, if it stops
 * Kafka), a fresh topic, the auditor, the load with the fault injected into it; then waits for
 * Kafka to settle and compares what was acknowledged with what arrived.
 */
export async function runScenario(
  name: ScenarioName,
  env: ChaosEnvironment,
  options: ScenarioOptions,
): Promise<ScenarioResult> {
  const definition = scenarios[name];
  const resolved = resolveOptions(definition, options);
  const startedAt = Date.now();
  const scope = new Scope();
  mkdirSync(env.workDir, { recursive: true });
  const dir = mkdtempSync(path.join(env.workDir, `${name}-`));
  scope.defer('work folder', () => rmSync(dir, { recursive: true, force: true }));
  try {
    let broker: Broker | undefined;
    let brokers = env.sharedBrokers;
    const shared = env.sharedCluster;
    if (definition.ownBroker && shared && definition.kafkaNodes === shared.nodeIds.length) {
      env.log(`${name}: on the shared cluster of ${shared.nodeIds.length} nodes`);
      broker = Broker.onCluster(shared);
      brokers = shared.brokers;
    } else if (definition.ownBroker) {
      env.log(`${name}: starting a Kafka broker of its own`);
      const own = await Broker.start({
        dir,
        cacheRoot: env.cacheRoot,
        log: env.log,
        ...(definition.kafkaNodes ? { nodes: definition.kafkaNodes } : {}),
      });
      scope.defer('kafka broker', () => own.stop());
      broker = own;
      brokers = own.brokers;
    }
    const topics = await createAuditTopics(brokers, `chaos-${name}`, definition.topicPartitions);
    scope.defer('topics', () => deleteAuditTopics(brokers, topics));
    const auditor = await Auditor.start(brokers, topics, env.log);
    scope.defer('auditor', () => auditor.stop());
    // The consumers (if any) start beside the pod; both settle before a failure is thrown, so
    // the scope holds everything either started when it closes.
    const podStarting = Pod.start(
      {
        dir,
        brokers,
        topics,
        redisAppendFsync: resolved.redisAppendFsync,
        ...(resolved.kafkaClient ? { kafkaClient: resolved.kafkaClient } : {}),
        ...(definition.redisDiskBytes ? { redisDiskBytes: definition.redisDiskBytes(resolved) } : {}),
      },
      scope,
    );
    const [podStart, consumersStart, followersStart, sinkStart] = await Promise.allSettled([
      podStarting,
      definition.consumers
        ? ConsumerStack.start(
            {
              dir: path.join(dir, 'consumers'),
              brokers,
              topics,
              archiveDiskBytes: definition.consumers(resolved).archiveDiskBytes,
            },
            scope,
          )
        : undefined,
      // After the pod: four services starting at once beside three JVMs overload two cores.
      definition.followers
        ? podStarting.then(() => Followers.start({ dir: path.join(dir, 'followers'), brokers, topics }, scope))
        : undefined,
      definition.postgresSink ? SinkStack.start({ dir: path.join(dir, 'sink'), brokers, topics }, scope) : undefined,
    ]);
    if (podStart.status === 'rejected') throw podStart.reason;
    if (consumersStart.status === 'rejected') throw consumersStart.reason;
    if (followersStart.status === 'rejected') throw followersStart.reason;
    if (sinkStart.status === 'rejected') throw sinkStart.reason;
    const pod = podStart.value;
    const consumers = consumersStart.value;
    env.log(`${name}: infrastructure and pod up in ${Date.now() - startedAt} ms`);

    const acks = new Acknowledgements();
    env.log(`${name}: ${resolved.rate} events/s for ${resolved.durationSeconds} s`);
    const loadStartedAt = Date.now();
    const load = runLoad(
      {
        target: pod.trackerUrl,
        rate: resolved.rate,
        durationSeconds: resolved.durationSeconds,
        connections: resolved.connections,
        seed: resolved.seed,
        onAcknowledged: (rids) => acks.add(rids),
      },
      (s) => {
        if (Math.round(s.elapsedSeconds) % 5 === 0)
          env.log(
            `${name}: ${s.elapsedSeconds.toFixed(0)} s, acknowledged ${s.acknowledged}, refused ${s.refused}, failed ${s.failed}`,
          );
      },
    );
    const injection = definition.inject({
      pod,
      broker,
      options: resolved,
      acks,
      auditor,
      consumers,
      followers: followersStart.value,
      sink: sinkStart.value,
      random: seededRandom(resolved.seed + 1),
      loadStartedAt,
      at: (seconds) => sleep(loadStartedAt + seconds * 1000 - Date.now()),
      log: env.log,
    });
    // The load runs its course even when the injection failed, so nothing keeps firing later.
    const [loadOutcome, injected] = await Promise.allSettled([load, injection]);
    if (loadOutcome.status === 'rejected') throw loadOutcome.reason;
    if (injected.status === 'rejected') throw injected.reason;
    const loadResult: LoadResult = loadOutcome.value;
    const faultRun: FaultRun = injected.value;

    env.log(`${name}: load done (${acks.count} acknowledged); waiting for Kafka to settle`);
    const settleStarted = Date.now();
    const { ended } = await auditor.waitFor(acks.ids(), {
      timeoutMs: resolved.settleTimeoutMs,
      // Nothing waits in Redis any more and everything in the topic was read: the ids still
      // missing will never come.
      nothingPending: async () => (await pod.backlog()) === 0 && (await auditor.caughtUp()),
    });
    const settle = { ms: Date.now() - settleStarted, ended };

    env.log(`${name}: settled in ${settle.ms} ms (${ended})`);
    const seen = auditor.sightings;
    const summary = summarize(acks, seen);
    const lossClues = summary.lost > 0 ? await lossCluesOf(pod, auditor, topics) : null;
    const { evidence, checks, recoveries: measured } = await faultRun.evaluate({ acks, load: loadResult, seen });
    const faults = faultRun.faults.map(({ recovers, ...fault }, i) => ({
      ...fault,
      recoveryMs:
        measured !== undefined
          ? (measured[i] ?? null)
          : recovers === false
            ? null
            : recoveryMs(fault.endedAt, acks, seen),
    }));
    const recoveries = faults.map((f) => f.recoveryMs).filter((ms): ms is number => ms !== null);
    const allChecks: Check[] = [
      {
        name: 'every acknowledged event is in Kafka',
        ok: summary.lost === 0 && summary.acknowledged > 0,
        detail:
          summary.lost === 0
            ? `${summary.delivered} of ${summary.acknowledged} delivered`
            : `${summary.lost} of ${summary.acknowledged} lost, e.g. ${summary.lostSample.slice(0, 5).join(', ')}; ` +
              describeSettle(settle, lossClues),
      },
      {
        name: 'every message in Kafka is well-formed',
        ok: auditor.deadLetters === 0 && auditor.undecodable === 0 && auditor.withoutRequestId === 0,
        detail: `${auditor.deadLetters} dead-lettered, ${auditor.undecodable} undecodable, ${auditor.withoutRequestId} without a request id`,
      },
      ...checks,
    ];
    return {
      scenario: name,
      title: definition.title,
      description: definition.description,
      recoveryDefinition: definition.recoveryDefinition,
      rate: resolved.rate,
      durationSeconds: resolved.durationSeconds,
      startedAt: new Date(startedAt).toISOString(),
      wallSeconds: (Date.now() - startedAt) / 1000,
      load: {
        scheduled: loadResult.scheduled,
        acknowledged: loadResult.acknowledged,
        refused: loadResult.refused,
        failed: loadResult.failed,
        statuses: loadResult.statuses,
      },
      audit: {
        ...summary,
        messages: auditor.messages,
        deadLettered: auditor.deadLetters,
        undecodable: auditor.undecodable,
        withoutRequestId: auditor.withoutRequestId,
      },
      settle,
      lossClues,
      faults,
      recovery:
        recoveries.length === 0 ? null : { worstMs: Math.max(...recoveries), medianMs: median(recoveries) ?? 0 },
      evidence,
      checks: allChecks,
      passed: allChecks.every((c) => c.ok),
    };
  } finally {
    await scope.close(env.log);
  }
}

/** Clues to where lost events went, gathered before the pod stops: each read on its own. */
async function lossCluesOf(pod: Pod, auditor: Auditor, topics: AuditTopics): Promise<LossClues> {
  const orNull = <T>(promise: Promise<T | undefined>): Promise<T | null> =>
    promise.then(
      (value) => value ?? null,
      () => null,
    );
  const [waitingInRedis, oversized, topicMessages, deadLetterMessages] = await Promise.all([
    orNull(pod.backlog()),
    orNull(entriesIn(pod.redisUrl, [pod.oversizedKey])),
    orNull(auditor.messagesIn(topics.topic)),
    orNull(auditor.messagesIn(topics.deadLetterTopic)),
  ]);
  const output: Record<string, string> = {};
  for (const [i, run] of pod.kafkastoreRuns.entries()) {
    output[`kafkastore run ${i + 1} (pid ${run.pid}${run.alive ? '' : ', exited'})`] = lastLines(run.recentOutput(), 8);
  }
  output[`tracker (pid ${pod.tracker.pid})`] = lastLines(pod.tracker.recentOutput(), 8);
  return {
    waitingInRedis,
    oversized,
    topicMessages,
    readByAuditor: auditor.messages,
    deadLetterMessages,
    deadLettersRead: auditor.deadLetters,
    auditorRestarts: auditor.restartCount,
    output,
  };
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

/** One line: how the wait after the load ended and where the missing events could be. */
export function describeSettle(settle: ScenarioResult['settle'], clues: LossClues | null): string {
  const known = (n: number | null): string => (n === null ? 'unknown (no answer)' : String(n));
  const parts = [`the wait after the load ended after ${settle.ms} ms (${settle.ended})`];
  if (clues) {
    parts.push(
      `still in Redis ${known(clues.waitingInRedis)}, in the oversized list ${known(clues.oversized)}`,
      `the topic holds ${known(clues.topicMessages)} messages, the auditor read ${clues.readByAuditor}`,
      `the dead-letter topic holds ${known(clues.deadLetterMessages)}, the auditor read ${clues.deadLettersRead}`,
      `auditor restarts ${clues.auditorRestarts}`,
    );
  }
  return parts.join('; ');
}
