import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  freePort,
  mountSmallFilesystem,
  startRedisServer,
  type AppendFsync,
  type RedisServer,
} from '@pushtech/devstack';
import { defaultKafkaClient, type KafkaClient } from '@pushtech/runtime';
import { entriesIn } from './redis-command.js';
import { sleep } from './sleep.js';
import { trackProcess, type Scope } from './scope.js';
import { startService, type ServiceProcess } from './service-process.js';
import type { AuditTopics } from './topics.js';

const QUEUE_KEY = 'pushtech:hits';
const INSTANCE = 'chaos-kafkastore';
const READY_TIMEOUT_MS = 60_000;

export interface PodOptions {
  /** The scenario's own folder: Redis AOF and the services' empty working directory. */
  readonly dir: string;
  readonly brokers: string;
  readonly topics: AuditTopics;
  /** false: only Redis and the tracker (the loss control starts kafkastore later). */
  readonly withKafkastore?: boolean;
  /** Redis's AOF policy; the default is what the deployments use (always). */
  readonly redisAppendFsync?: AppendFsync;
  /** Redis's folder on a tmpfs of this many bytes, a disk of its own that can be filled (root only). */
  readonly redisDiskBytes?: number;
  /** kafkastore's producer library; kafkajs when left out. */
  readonly kafkaClient?: KafkaClient;
}

interface RedisOptions {
  readonly port: number;
  readonly dir: string;
  readonly appendOnly: true;
  readonly appendFsync?: AppendFsync;
}

/**
 * One Kubernetes pod as deployed, made of processes: tracker, its own Redis (AOF, fsync before
 * every answer, noeviction) and the kafkastore sidecar (drain on exit). Scenarios kill, stop and restart its
 * parts; whatever runs when the scenario ends is stopped by the scope.
 */
export class Pod {
  redis: RedisServer;
  readonly tracker: ServiceProcess;
  kafkastore: ServiceProcess | undefined;
  /** Every kafkastore process this pod ran, the replacements after a kill included. */
  readonly kafkastoreRuns: ServiceProcess[] = [];
  readonly trackerUrl: string;

  private constructor(
    /** Read by scenarios that change the pod's topics (oversized-events). */
    readonly options: PodOptions,
    private readonly redisOptions: RedisOptions,
    redis: RedisServer,
    tracker: ServiceProcess,
    trackerPort: number,
    private readonly kafkastorePort: number,
    private readonly cwd: string,
  ) {
    this.redis = redis;
    this.tracker = tracker;
    this.trackerUrl = `http://127.0.0.1:${trackerPort}`;
  }

  static async start(options: PodOptions, scope: Scope): Promise<Pod> {
    const cwd = path.join(options.dir, 'run');
    mkdirSync(cwd, { recursive: true });
    const redisOptions: RedisOptions = {
      port: await freePort(),
      dir: path.join(options.dir, 'redis'),
      appendOnly: true,
      ...(options.redisAppendFsync ? { appendFsync: options.redisAppendFsync } : {}),
    };
    if (options.redisDiskBytes !== undefined) {
      // Registered before the pod, so it is unmounted after Redis stopped.
      scope.defer('redis filesystem', mountSmallFilesystem(redisOptions.dir, options.redisDiskBytes));
    }
    const redis = await startRedis(redisOptions);
    const trackerPort = await freePort();
    const kafkastorePort = await freePort();
    const tracker = startService({
      name: 'tracker',
      opsPort: trackerPort,
      cwd,
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        REDIS_URL: redis.url,
        REDIS_QUEUE_KEY: QUEUE_KEY,
        TRACKER_HOST: '127.0.0.1',
        TRACKER_PORT: String(trackerPort),
        TRACKER_WORKERS: '1',
        POD_IP: 'chaos-pod',
        // The load generator sends client addresses in X-Forwarded-For, as a proxy would.
        TRACKER_TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
      },
    });
    const pod = new Pod(options, redisOptions, redis, tracker, trackerPort, kafkastorePort, cwd);
    scope.defer('pod', () => pod.stop());
    await tracker.waitReady(READY_TIMEOUT_MS);
    if (options.withKafkastore !== false) await pod.startKafkastore().waitReady(READY_TIMEOUT_MS);
    return pod;
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  /** Redis's folder: its AOF, and the filesystem a disk-pressure scenario fills. */
  get redisDir(): string {
    return this.redisOptions.dir;
  }

  /** The incoming list and kafkastore's processing list: where acknowledged events wait. */
  get queueKeys(): readonly [string, string] {
    return [QUEUE_KEY, `${QUEUE_KEY}:processing:${INSTANCE}`];
  }

  /** Where kafkastore keeps entries Kafka cannot take, not even as dead letters. */
  get oversizedKey(): string {
    return `${QUEUE_KEY}:oversized`;
  }

  /** Events waiting in Redis (both lists); undefined while Redis does not answer. */
  backlog(): Promise<number | undefined> {
    return entriesIn(this.redis.url, this.queueKeys);
  }

  /**
   * Waits until at least `wanted` events wait in Redis (kafkastore paused), for at most
   * `timeoutMs`; returns how many wait then.
   */
  async backlogOf(wanted: number, timeoutMs: number): Promise<number> {
    const waitUntil = Date.now() + timeoutMs;
    while (Date.now() < waitUntil && ((await this.backlog()) ?? 0) < wanted) await sleep(50);
    return (await this.backlog()) ?? 0;
  }

  /**
   * The backlog once a restarted Redis has loaded its AOF (it answers INFO while loading and
   * LOADING to everything else); -1 when it did not answer within `timeoutMs`.
   */
  async backlogOnceLoaded(timeoutMs: number): Promise<number> {
    const loadedBy = Date.now() + timeoutMs;
    let counted = await this.backlog();
    while (counted === undefined && Date.now() < loadedBy) {
      await sleep(20);
      counted = await this.backlog();
    }
    return counted ?? -1;
  }

  /** Events in kafkastore's processing list: a batch taken but not yet acknowledged by Kafka. */
  inFlight(): Promise<number | undefined> {
    return entriesIn(this.redis.url, [this.queueKeys[1]]);
  }

  /**
   * Starts a kafkastore (again). The instance name stays the same across restarts, so a new
   * process finds and re-produces the batch a killed one left in its processing list.
   * `second`: one more beside the running one (two-kafkastores), on its own ops port.
   */
  startKafkastore(second?: { opsPort: number; env: Readonly<Record<string, string>> }): ServiceProcess {
    const opsPort = second?.opsPort ?? this.kafkastorePort;
    const kafkastore = startService({
      name: 'kafkastore',
      opsPort,
      cwd: this.cwd,
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        REDIS_URL: this.redis.url,
        REDIS_QUEUE_KEY: QUEUE_KEY,
        KAFKA_BROKERS: this.options.brokers,
        KAFKA_TOPIC: this.options.topics.topic,
        KAFKA_DLQ_TOPIC: this.options.topics.deadLetterTopic,
        KAFKASTORE_HOST: '127.0.0.1',
        KAFKASTORE_PORT: String(opsPort),
        KAFKASTORE_INSTANCE: INSTANCE,
        KAFKASTORE_DRAIN_ON_EXIT: 'true',
        KAFKA_PARTITION_KEY: 'deviceid',
        GEOIP_DB: '',
        KAFKA_CLIENT: this.options.kafkaClient ?? defaultKafkaClient,
        ...second?.env,
      },
    });
    if (second === undefined) this.kafkastore = kafkastore;
    this.kafkastoreRuns.push(kafkastore);
    return kafkastore;
  }

  /** Starts Redis again on the same port and folder, so it replays its AOF. */
  async restartRedis(): Promise<RedisServer> {
    this.redis = await startRedis(this.redisOptions);
    return this.redis;
  }

  /** Stops whatever still runs: tracker and kafkastore first (they drain into Kafka), Redis last. */
  async stop(): Promise<void> {
    await Promise.allSettled([this.tracker.stop(10_000), ...this.kafkastoreRuns.map((k) => k.stop(30_000))]);
    await this.redis.stop();
  }
}

async function startRedis(options: RedisOptions): Promise<RedisServer> {
  const redis = await startRedisServer(options);
  const untrack = trackProcess(redis.process.pid, 'redis');
  void redis.process.exited.then(untrack);
  return redis;
}
