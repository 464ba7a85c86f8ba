import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, mountSmallFilesystem, startRedisServer, type RedisServer } from '@pushtech/devstack';
import { describeError } from '@pushtech/runtime';
import { GroupAdmin } from './group-admin.js';
import { sampleOps, watchOps, type OpsSample, type StopWatching } from './ops-sampler.js';
import { redisCommand, type RedisReply } from './redis-command.js';
import { sleep } from './sleep.js';
import { trackProcess, type Scope } from './scope.js';
import { startService, type ServiceExit, type ServiceProcess } from './service-process.js';
import type { AuditTopics } from './topics.js';

const READY_TIMEOUT_MS = 60_000;
const MIB = 1024 * 1024;
/** What a Deployment does with a container that exited: start it again (without the back-off). */
const RESTART_DELAY_MS = 1_000;

/**
 * The consumer processes, one Deployment each as in production: the Redis-backed counters
 * together, the archiver alone (its dependency is a disk, not Redis).
 */
export const consumerRoles = {
  counters: { CONSUMERS: 'event_counter,metadata_counter' },
  archiver: { CONSUMER_NAME: 'archiver' },
} as const;
export type ConsumerRole = keyof typeof consumerRoles;
const roles = Object.keys(consumerRoles) as ConsumerRole[];

/** The consumer names of each role, for their group ids (`<KAFKA_CLIENT_ID>-<name>`). */
const consumerNames: Readonly<Record<ConsumerRole, readonly string[]>> = {
  counters: ['event_counter', 'metadata_counter'],
  archiver: ['archiver'],
};

/** The hashes metadata_counter writes, one per dimension (services/consumers metadata-counter.ts). */
export const metadataDimensions = ['country', 'os', 'browser', 'device'] as const;

export interface ConsumerStackOptions {
  /** A folder of the scenario's own: the consumers' Redis and the archive mount go below it. */
  readonly dir: string;
  readonly brokers: string;
  readonly topics: AuditTopics;
  /** Size of the archive's own filesystem (a tmpfs: needs root). */
  readonly archiveDiskBytes: number;
}

/** A consumer process that exited without being told to (not by the stack's kill or stop). */
export interface UnexpectedExit {
  readonly role: ConsumerRole;
  readonly exit: ServiceExit;
  readonly output: string;
}

/**
 * The consumers as deployed beside a pod, made of processes: the built-in consumers
 * (`services/consumers`, started exactly as in production) reading the scenario's topic, their
 * state in a Redis of their own (AOF, fsync before every answer, noeviction), not the tracker's
 * buffer, and the archive on a small filesystem of its own that can be filled. A process that
 * exits on its own is recorded and started again, as Kubernetes would.
 */
export class ConsumerStack {
  redis: RedisServer;
  /** Every consumer process the stack ran, replacements included. */
  readonly runs: ServiceProcess[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  private readonly current = new Map<ConsumerRole, ServiceProcess>();
  /** Processes the stack itself killed or stopped: their exits are expected. */
  private readonly told = new Set<ServiceProcess>();
  /** Every consumer group the processes joined, deleted at the end. */
  private readonly groupsUsed = new Set<string>();
  private stopping = false;

  private constructor(
    private readonly options: ConsumerStackOptions,
    private readonly redisDir: string,
    redis: RedisServer,
    readonly archiveDir: string,
    readonly keyPrefix: string,
    /** KAFKA_CLIENT_ID of each role's processes: its consumer group ids derive from it. */
    private readonly clientIds: Map<ConsumerRole, string>,
    private readonly ports: Readonly<Record<ConsumerRole, number>>,
    private readonly cwd: string,
  ) {
    this.redis = redis;
    this.groups = new GroupAdmin(options.brokers, 'chaos-consumers-admin');
  }

  private readonly groups: GroupAdmin;

  static async start(options: ConsumerStackOptions, scope: Scope): Promise<ConsumerStack> {
    const redisDir = path.join(options.dir, 'redis');
    const archiveDir = path.join(options.dir, 'archive');
    const cwd = path.join(options.dir, 'run');
    mkdirSync(cwd, { recursive: true });
    // Registered first, so it is unmounted after the archiver stopped.
    scope.defer('archive filesystem', mountSmallFilesystem(archiveDir, options.archiveDiskBytes));
    const redis = await startRedis(redisDir, await freePort());
    const ports = { counters: await freePort(), archiver: await freePort() };
    const tag = randomBytes(4).toString('hex');
    const stack = new ConsumerStack(
      options,
      redisDir,
      redis,
      archiveDir,
      `chaos-${tag}`,
      new Map(roles.map((role) => [role, `chaos-consumers-${tag}`])),
      ports,
      cwd,
    );
    scope.defer('consumers', () => stack.stop());
    await Promise.all(roles.map((role) => stack.startRole(role).waitReady(READY_TIMEOUT_MS)));
    return stack;
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  process(role: ConsumerRole): ServiceProcess {
    const running = this.current.get(role);
    if (!running) throw new Error(`no ${role} consumer process is running`);
    return running;
  }

  private startRole(role: ConsumerRole): ServiceProcess {
    for (const group of this.groupIds(role)) this.groupsUsed.add(group);
    const started = startService({
      name: 'consumers',
      opsPort: this.ports[role],
      cwd: this.cwd,
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: this.options.brokers,
        KAFKA_TOPIC: this.options.topics.topic,
        KAFKA_DLQ_TOPIC: this.options.topics.deadLetterTopic,
        KAFKA_CLIENT_ID: this.clientIdOf(role),
        REDIS_URL: this.redis.url,
        CONSUMER_KEY_PREFIX: this.keyPrefix,
        ARCHIVE_DIR: this.archiveDir,
        CONSUMERS_HOST: '127.0.0.1',
        CONSUMERS_PORT: String(this.ports[role]),
        // A SIGKILLed member leaves the group after this, so its replacement gets the partitions.
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        // A small retry budget, so every outage outlasts it: an outage must not turn into dead
        // letters however few retries a batch gets.
        CONSUMER_MAX_RETRIES: '2',
        CONSUMER_RETRY_BACKOFF_MS: '100',
        CONSUMER_RETRY_BACKOFF_MAX_MS: '1000',
        ...consumerRoles[role],
      },
    });
    this.current.set(role, started);
    this.runs.push(started);
    void started.exited.then(async (exit) => {
      if (this.stopping || this.told.has(started)) return;
      this.unexpectedExits.push({ role, exit, output: started.recentOutput() });
      await sleep(RESTART_DELAY_MS);
      if (!this.stopping && this.current.get(role) === started) this.startRole(role);
    });
    return started;
  }

  /** SIGKILL to a consumer process; resolves with its exit. */
  async kill(role: ConsumerRole): Promise<ServiceExit> {
    const victim = this.process(role);
    this.told.add(victim);
    victim.signal('SIGKILL');
    return victim.exited;
  }

  /** Starts the role's process again (after `kill`), waiting until it is ready. */
  async restart(role: ConsumerRole): Promise<ServiceProcess> {
    const started = this.startRole(role);
    await started.waitReady(READY_TIMEOUT_MS);
    return started;
  }

  /**
   * Stops the counters (SIGTERM) and starts them again under a new KAFKA_CLIENT_ID: new consumer
   * groups, which read the topic from the beginning. Only the negative control does this.
   */
  async replayCountersFromStart(): Promise<void> {
    const running = this.process('counters');
    this.told.add(running);
    await running.stop(30_000);
    this.clientIds.set('counters', `${this.clientIdOf('counters')}-replay`);
    await this.restart('counters');
  }

  /** SIGKILL to the consumers' Redis; resolves with its exit (code or signal). */
  async killRedis(): Promise<number | string> {
    await this.redis.process.kill();
    return this.redis.process.exited;
  }

  /** Starts the consumers' Redis again on its port and folder, so it replays its AOF. */
  async restartRedis(): Promise<RedisServer> {
    this.redis = await startRedis(this.redisDir, this.redis.port);
    return this.redis;
  }

  command(args: readonly (string | number)[]): Promise<RedisReply> {
    return redisCommand(this.redis.url, args);
  }

  /**
   * Fills the consumers' Redis to its memory limit, as a Redis shared with growing state ends up:
   * maxmemory set just above what it uses (noeviction), then filler strings written until Redis
   * refuses one. The refused write's own buffer is freed after the refusal and would leave room
   * for small writes, so the limit then goes a little below what Redis holds. Reads and PING
   * still work. `release` lifts the limit and deletes the filler.
   */
  async fillMemory(): Promise<{ fillerKeys: number; refusal: string; release(): Promise<void> }> {
    const usedMemory = async (): Promise<number> =>
      infoField(String(await this.command(['INFO', 'memory'])), 'used_memory');
    await this.command(['CONFIG', 'SET', 'maxmemory', (await usedMemory()) + MIB]);
    const filler = `chaos-filler:${randomBytes(4).toString('hex')}`;
    const value = 'x'.repeat(64 * 1024);
    let fillerKeys = 0;
    let refusal = '';
    while (refusal === '' && fillerKeys < 1_000) {
      try {
        await this.command(['SET', `${filler}:${fillerKeys}`, value]);
        fillerKeys += 1;
      } catch (error: unknown) {
        refusal = describeError(error);
      }
    }
    await this.command(['CONFIG', 'SET', 'maxmemory', Math.max(1, (await usedMemory()) - MIB / 4)]);
    return {
      fillerKeys,
      refusal,
      release: async () => {
        await this.command(['CONFIG', 'SET', 'maxmemory', 0]);
        for (let i = 0; i < fillerKeys; i += 100) {
          const keys = Array.from({ length: Math.min(100, fillerKeys - i) }, (_, j) => `${filler}:${i + j}`);
          await this.command(['DEL', ...keys]);
        }
      },
    };
  }

  /** Commands the consumers' Redis refused with OOM since it started (INFO errorstats). */
  async oomRefusals(): Promise<number> {
    const info = String(await this.command(['INFO', 'errorstats']));
    return Number(/^errorstat_OOM:count=(\d+)/m.exec(info)?.[1] ?? 0);
  }

  /** A hash of the consumers' Redis as numbers by field; undefined while Redis does not answer. */
  async hash(key: string): Promise<Map<string, number> | undefined> {
    let reply: RedisReply;
    try {
      reply = await this.command(['HGETALL', key]);
    } catch {
      return undefined;
    }
    const fields = new Map<string, number>();
    if (!Array.isArray(reply)) return fields;
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), Number(reply[i + 1]));
    return fields;
  }

  /** event_counter's all-time totals by event type. */
  eventTotals(): Promise<Map<string, number> | undefined> {
    return this.hash(`${this.keyPrefix}:event_counter:total`);
  }

  /** metadata_counter's hash of one dimension. */
  dimension(name: (typeof metadataDimensions)[number]): Promise<Map<string, number> | undefined> {
    return this.hash(`${this.keyPrefix}:metadata_counter:${name}`);
  }

  /** The counters' own hashes: what the consumers produce, as opposed to their bookkeeping. */
  isCounterKey(key: string): boolean {
    return (
      key === `${this.keyPrefix}:event_counter:total` ||
      key.startsWith(`${this.keyPrefix}:event_counter:minute:`) ||
      metadataDimensions.some((d) => key === `${this.keyPrefix}:metadata_counter:${d}`)
    );
  }

  /** Every key in the consumers' Redis. */
  async keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const reply = await this.command(['SCAN', cursor, 'COUNT', 1000]);
      if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
        throw new Error(`SCAN answered ${JSON.stringify(reply)}`);
      }
      cursor = String(reply[0]);
      for (const key of reply[1]) found.push(String(key));
    } while (cursor !== '0');
    return found;
  }

  private clientIdOf(role: ConsumerRole): string {
    const id = this.clientIds.get(role);
    if (id === undefined) throw new Error(`no client id for ${role}`);
    return id;
  }

  /** The consumer groups a role's processes join (`<KAFKA_CLIENT_ID>-<consumer name>`). */
  private groupIds(role: ConsumerRole): string[] {
    return consumerNames[role].map((name) => `${this.clientIdOf(role)}-${name}`);
  }

  /** Whether every consumer group of the running processes has committed up to the topic's end. */
  caughtUp(): Promise<boolean> {
    return this.groups.caughtUp(
      this.options.topics.topic,
      roles.flatMap((role) => this.groupIds(role)),
    );
  }

  /** Readiness and the outage metric of a role's process right now. */
  sampleOps(role: ConsumerRole): Promise<OpsSample> {
    return sampleOps(this.ports[role]);
  }

  /** Samples a role's ops endpoints every 100 ms until the returned function is first called. */
  watchOps(role: ConsumerRole): StopWatching {
    return watchOps(() => this.sampleOps(role));
  }

  /** Stops the consumers (they finish and commit their batch), deletes their groups, then Redis. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.runs.map((run) => run.stop(30_000)));
    await Promise.allSettled([this.groups.deleteGroupsAndClose([...this.groupsUsed]), this.redis.stop()]);
  }
}

/** A numeric field of an INFO reply. */
function infoField(info: string, field: string): number {
  const value = Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(info)?.[1]);
  if (!Number.isFinite(value)) throw new Error(`INFO has no ${field}: ${info.slice(0, 200)}`);
  return value;
}

async function startRedis(dir: string, port: number): Promise<RedisServer> {
  const redis = await startRedisServer({ port, dir, appendOnly: true, appendFsync: 'always' });
  const untrack = trackProcess(redis.process.pid, 'redis');
  void redis.process.exited.then(untrack);
  return redis;
}
