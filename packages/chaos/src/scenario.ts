import type { AppendFsync, KafkaCluster } from '@pushtech/devstack';
import type { LoadResult } from '@pushtech/loadgen';
import type { KafkaClient } from '@pushtech/runtime';
import type { Acknowledgements, AuditSummary } from './audit.js';
import type { Auditor, SettleEnd, Sighting } from './auditor.js';
import type { Broker } from './broker.js';
import type { ConsumerStack } from './consumer-stack.js';
import type { Followers } from './followers.js';
import type { Pod } from './pod.js';
import type { SinkStack } from './sink-stack.js';

export const scenarioNames = [
  'kafkastore-kill',
  'kafka-outage',
  'redis-restart',
  'pod-scale-down',
  'redis-disk-pressure',
  'aborted-uploads-scale-down',
  'two-kafkastores',
  'oversized-events',
  'consumer-outages',
  'kafka-leader-kill',
  'kafka-controller-kill',
  'kafka-rolling-restart',
  'sdk-flaky-network',
  'postgres-kill',
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (scenarioNames as readonly string[]).includes(name);
}

/** Where scenarios run: infrastructure shared between them and a folder for their state. */
export interface ChaosEnvironment {
  /** A broker the scenarios that leave Kafka alone share (each with fresh topics). */
  readonly sharedBrokers: string;
  /** Cache of the Kafka jars, for the scenario that runs (and stops) a broker of its own. */
  readonly cacheRoot: string;
  /** Parent folder of every scenario's state (Redis AOF, broker data); removed per scenario. */
  readonly workDir: string;
  readonly log: (line: string) => void;
  /**
   * A running cluster the scenarios asking for one of that many nodes (`kafkaNodes`) use instead
   * of starting their own; it is left running for the next. Each such scenario leaves every node
   * running and in sync.
   */
  readonly sharedCluster?: KafkaCluster;
}

export interface ScenarioOptions {
  /** Events per second the load generator offers. */
  readonly rate: number;
  /** How long the load runs; the faults happen inside this window. */
  readonly durationSeconds: number;
  readonly connections?: number;
  readonly seed?: number;
  /** After the load: longest wait for acknowledged events to show up in Kafka. */
  readonly settleTimeoutMs?: number;
  /** kafkastore-kill: mean time between two kills. */
  readonly killEverySeconds?: number;
  /** kafka-outage: how long the broker stays stopped. */
  readonly kafkaOutageSeconds?: number;
  /** redis-restart: how long Redis stays down. */
  readonly redisDownSeconds?: number;
  /**
   * The pod Redis's AOF policy. Only the negative control sets it (everysec, the old setting,
   * must lose acknowledged events under redis-disk-pressure); the default is the deployments' own.
   */
  readonly redisAppendFsync?: AppendFsync;
  /** two-kafkastores: false (the negative control) starts the second one with KAFKASTORE_LEASE=false. */
  readonly secondKafkastoreLease?: boolean;
  /** consumer-outages: how long the consumers' Redis stays full, and the archive disk. */
  readonly consumerOutageSeconds?: number;
  /** kafkastore's producer library (KAFKA_CLIENT). */
  readonly kafkaClient?: KafkaClient;
  /** postgres-kill: how often the sink's PostgreSQL is SIGKILLed during the load. */
  readonly postgresKills?: number;
  /** postgres-kill: how long PostgreSQL stays down after each kill. */
  readonly postgresDownSeconds?: number;
}

/** Every option filled in; the client stays as given (kafkastore's own default when left out). */
export type ResolvedOptions = Required<Omit<ScenarioOptions, 'kafkaClient'>> & Pick<ScenarioOptions, 'kafkaClient'>;

export const defaultOptions: Omit<ResolvedOptions, 'rate' | 'durationSeconds' | 'seed' | 'kafkaClient'> = {
  connections: 32,
  settleTimeoutMs: 60_000,
  killEverySeconds: 4,
  kafkaOutageSeconds: 15,
  redisDownSeconds: 3,
  redisAppendFsync: 'always',
  secondKafkastoreLease: true,
  consumerOutageSeconds: 5,
  postgresKills: 3,
  postgresDownSeconds: 3,
};

/** A check that the scenario did what it claims (the fault really happened, the pod behaved). */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Fault {
  readonly what: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  /** When the failed part was back (process restarted, broker or Redis answering again). */
  readonly endedAt: number;
  /** See ScenarioDefinition.recoveryDefinition; null when not measurable or not applicable. */
  readonly recoveryMs: number | null;
}

export interface Evaluation {
  evidence: Record<string, number>;
  checks: Check[];
  /**
   * Per fault, a time to recover measured by the scenario itself, for a fault of a reader of the
   * topic rather than of the pod (null: not measurable); replaces the Kafka-append definition.
   */
  recoveries?: readonly (number | null)[];
}

/** What a scenario's fault injection reports; evaluated once the load ended and Kafka settled. */
export interface FaultRun {
  readonly faults: readonly (Omit<Fault, 'recoveryMs'> & { readonly recovers?: boolean })[];
  /** `seen`: what the auditor found in Kafka, by request id. */
  evaluate(view: {
    acks: Acknowledgements;
    load: LoadResult;
    seen: ReadonlyMap<string, Sighting>;
  }): Evaluation | Promise<Evaluation>;
}

export interface ScenarioContext {
  readonly pod: Pod;
  /** The scenario's own broker (only for scenarios that stop Kafka). */
  readonly broker: Broker | undefined;
  readonly options: ResolvedOptions;
  readonly acks: Acknowledgements;
  /** The measuring side: paused while the broker it reads from is away; what it found. */
  readonly auditor: Auditor;
  /** The consumers reading the scenario's topic (only for scenarios that fault them). */
  readonly consumers: ConsumerStack | undefined;
  /** The consumers service and kafidx reading the topic (scenarios with `followers`). */
  readonly followers: Followers | undefined;
  /** The PostgreSQL sink and its own PostgreSQL (scenarios with `postgresSink`). */
  readonly sink: SinkStack | undefined;
  /** Seeded, so a run can be repeated. */
  readonly random: () => number;
  readonly loadStartedAt: number;
  /** Resolves `seconds` after the load started. */
  at(seconds: number): Promise<void>;
  readonly log: (line: string) => void;
}

export interface ScenarioDefinition {
  readonly name: ScenarioName;
  readonly title: string;
  readonly description: string;
  /** What "time to recover" means for this scenario. */
  readonly recoveryDefinition: string;
  readonly ownBroker: boolean;
  /** Nodes of the scenario's own Kafka (ownBroker): 3 for a KRaft cluster (`broker.cluster`). */
  readonly kafkaNodes?: number;
  /** Partitions of the scenario's fresh event topic (3 when not given). */
  readonly topicPartitions?: number;
  /** Runs the consumers service (event_counter) and kafidx on the topic beside the pod (`followers`). */
  readonly followers?: boolean;
  /** Runs `postgres_sink` on the topic, writing to a PostgreSQL of the scenario's own (`sink`). */
  readonly postgresSink?: boolean;
  /** Bytes of a filesystem of its own (tmpfs, root only) for the pod Redis's folder. */
  redisDiskBytes?(options: ResolvedOptions): number;
  /**
   * Runs the built-in consumers on the scenario's topic, their state in a Redis of their own and
   * the archive on a filesystem of `archiveDiskBytes` (tmpfs, root only).
   */
  consumers?(options: ResolvedOptions): { archiveDiskBytes: number };
  /** The shortest load that leaves room for the fault and a recovery after it. */
  minDurationSeconds(options: ResolvedOptions): number;
  /** Runs while the load runs; returns when the fault is over. */
  inject(context: ScenarioContext): Promise<FaultRun>;
}

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  readonly title: string;
  readonly description: string;
  readonly recoveryDefinition: string;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly load: {
    readonly scheduled: number;
    readonly acknowledged: number;
    readonly refused: number;
    readonly failed: number;
    readonly statuses: Readonly<Record<string, number>>;
  };
  readonly audit: AuditSummary & {
    /** Messages read from the event topic. */
    readonly messages: number;
    readonly deadLettered: number;
    readonly undecodable: number;
    readonly withoutRequestId: number;
  };
  /** How the wait for the acknowledged events after the load went. */
  readonly settle: {
    readonly ms: number;
    readonly ended: SettleEnd;
  };
  /**
   * Only when events were lost: where they could be instead of the topic, and what the pod's
   * processes said last, so that a failed run explains itself.
   */
  readonly lossClues: LossClues | null;
  readonly faults: readonly Fault[];
  readonly recovery: { readonly worstMs: number; readonly medianMs: number } | null;
  readonly evidence: Readonly<Record<string, number>>;
  readonly checks: readonly Check[];
  /** No loss and every check ok. */
  readonly passed: boolean;
}

/** Bad options (a rate of 0, a load too short for the fault): the message says what to change. */
export class ChaosUsageError extends Error {
  override readonly name = 'ChaosUsageError';
}

/** Seconds of steady traffic before the first fault. */
export function warmupSeconds(options: Pick<ResolvedOptions, 'durationSeconds'>): number {
  return Math.min(3, options.durationSeconds * 0.2);
}

/** Where acknowledged events missing in the topic could be (null: could not be read). */
export interface LossClues {
  /** Still in the pod Redis's incoming and processing lists. */
  readonly waitingInRedis: number | null;
  /** In kafkastore's oversized list (Kafka took them not even as dead letters). */
  readonly oversized: number | null;
  /** Messages in the event topic by the broker's offsets, and how many of them the auditor read. */
  readonly topicMessages: number | null;
  readonly readByAuditor: number;
  /** Messages in the dead-letter topic by the broker's offsets, and how many the auditor read. */
  readonly deadLetterMessages: number | null;
  readonly deadLettersRead: number;
  readonly auditorRestarts: number;
  /** The last lines each pod process wrote (kafkastore runs, tracker), newest last. */
  readonly output: Readonly<Record<string, string>>;
}
