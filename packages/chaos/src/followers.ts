import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, startRedisServer, type RedisServer } from '@pushtech/devstack';
import { KafidxViewer } from './kafidx-viewer.js';
import { redisCommand } from './redis-command.js';
import { trackProcess, type Scope } from './scope.js';
import { startService, type ServiceProcess } from './service-process.js';
import type { AuditTopics } from './topics.js';

const READY_TIMEOUT_MS = 90_000;
const KEY_PREFIX = 'chaos-followers';

/** How far the readers of the topic got: event_counter's total, and the live events kafidx's viewer received. */
export interface FollowerProgress {
  readonly counted: number;
  readonly kafidxViewed: number;
}

/**
 * The topic's readers as deployed, for the leader-failover scenarios: the consumers service
 * (event_counter, its state in a Redis of its own) and kafidx, each a process of its own with
 * every node in KAFKA_BROKERS. They must follow the new leaders without being restarted.
 *
 * kafidx reads Kafka only while a browser watches (its consumer is paused otherwise), so two
 * dashboard viewers are connected to it over its WebSocket: `viewer` watches throughout, and
 * `pausedViewer` presses pause once the warm-up is over; it is the control that receives
 * nothing from then on, so "kafidx followed" is a check that can fail.
 */
export class Followers {
  private constructor(
    private readonly redis: RedisServer,
    readonly consumers: ServiceProcess,
    readonly kafidx: ServiceProcess,
    readonly viewer: KafidxViewer,
    readonly pausedViewer: KafidxViewer,
  ) {}

  /** Started beside the pod; stopped when the scenario's scope closes, also after a failure. */
  static async start(options: { dir: string; brokers: string; topics: AuditTopics }, scope: Scope): Promise<Followers> {
    const cwd = path.join(options.dir, 'followers-run');
    mkdirSync(cwd, { recursive: true });
    const redis = await startRedisServer({
      port: await freePort(),
      dir: path.join(options.dir, 'followers-redis'),
      appendOnly: false,
    });
    const untrack = trackProcess(redis.process.pid, 'redis');
    void redis.process.exited.then(untrack);
    const kafka = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: options.brokers,
      KAFKA_TOPIC: options.topics.topic,
      KAFKA_DLQ_TOPIC: options.topics.deadLetterTopic,
    };
    const [consumersPort, kafidxPort, kafidxOpsPort] = [await freePort(), await freePort(), await freePort()];
    const kafidxToken = randomBytes(16).toString('hex');
    const consumers = startService({
      name: 'consumers',
      opsPort: consumersPort,
      cwd,
      env: {
        ...kafka,
        KAFKA_CLIENT_ID: 'chaos-followers',
        REDIS_URL: redis.url,
        CONSUMER_KEY_PREFIX: KEY_PREFIX,
        CONSUMERS: 'event_counter',
        CONSUMERS_HOST: '127.0.0.1',
        CONSUMERS_PORT: String(consumersPort),
      },
    });
    const kafidx = startService({
      name: 'kafidx',
      opsPort: kafidxOpsPort,
      cwd,
      env: {
        ...kafka,
        KAFKA_CLIENT_ID: 'chaos-kafidx',
        KAFIDX_HOST: '127.0.0.1',
        KAFIDX_PORT: String(kafidxPort),
        KAFIDX_OPS_PORT: String(kafidxOpsPort),
        KAFIDX_TOKEN: kafidxToken,
      },
    });
    scope.defer('followers', async () => {
      await Promise.allSettled([consumers.stop(15_000), kafidx.stop(15_000)]);
      await redis.stop();
    });
    await Promise.all([consumers.waitReady(READY_TIMEOUT_MS), kafidx.waitReady(READY_TIMEOUT_MS)]);
    const kafidxBase = `http://127.0.0.1:${kafidxPort}`;
    const viewer = await KafidxViewer.connect(kafidxBase, kafidxToken, READY_TIMEOUT_MS);
    scope.defer('kafidx viewer', () => viewer.close());
    const pausedViewer = await KafidxViewer.connect(kafidxBase, kafidxToken, READY_TIMEOUT_MS);
    scope.defer('kafidx paused viewer', () => pausedViewer.close());
    return new Followers(redis, consumers, kafidx, viewer, pausedViewer);
  }

  /** -1 for a figure that could not be read right now. */
  async progress(): Promise<FollowerProgress> {
    const counted = await redisCommand(this.redis.url, ['HVALS', `${KEY_PREFIX}:event_counter:total`]).then(
      (reply) => (Array.isArray(reply) ? reply.reduce<number>((sum, v) => sum + Number(v), 0) : 0),
      () => -1,
    );
    return { counted, kafidxViewed: this.viewer.received };
  }
}
