import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Gauge, PushtechError, type Logger, type Registry } from '@pushtech/runtime';
import type { Redis } from 'ioredis';

/**
 * One owner per processing list. Two kafkastores on one list (the same KAFKASTORE_INSTANCE)
 * each replay what the other has in flight: 16,500 duplicates per 20,000 entries when measured.
 * The owner keeps a key with an expiry next to the list; the take and ack scripts check it
 * (hit-queue.ts), so an owner that lost it (paused, cut off) can neither take nor trim.
 */
export type LeaseState = 'waiting' | 'held' | 'lost' | 'released';

const leaseStates: readonly LeaseState[] = ['waiting', 'held', 'lost', 'released'];

/** The key that says who owns `processingKey`; its value is the owner's token. */
export function ownerKey(processingKey: string): string {
  return `${processingKey}:owner`;
}

/**
 * Unique per process start; says where the owner runs (for the messages of the one refused) and,
 * last, the TTL it renews to, so a newcomer can tell from the remaining time how long ago it was
 * renewed.
 */
export function leaseToken(ttlMs: number): string {
  return `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}:${ttlMs}`;
}

/** How often a holder renews a lease of `ttlMs` (a cheap script), so a dead one shows in seconds. */
function renewalPeriod(ttlMs: number): number {
  return Math.max(100, Math.min(1_000, Math.floor(ttlMs / 3)));
}

/** Milliseconds since the holder last renewed, when its token says its TTL; else 0 (unknown). */
function sinceRenewal(holder: string, pttl: number): number {
  const ttl = Number(holder.slice(holder.lastIndexOf(':') + 1));
  return Number.isSafeInteger(ttl) && ttl > 0 && pttl >= 0 ? Math.max(0, ttl - pttl) : 0;
}

/** Extends the lease only while it is ours. Returns {1} or {0, the current holder or ''}. */
const RENEW_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
return {0, holder or ''}
`;

/** Takes over a lease its holder stopped renewing, unless it changed hands meanwhile. */
const TAKEOVER_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`;

/** Deletes the lease only while it is ours, so a late release never frees another owner's. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface ProcessingLease {
  readonly key: string;
  readonly token: string;
  readonly state: LeaseState;
  /**
   * Takes the lease. While another process holds it, watches it for two renewal periods: a live
   * holder renews it (this one then refuses with PT_ERR_LEASE_HELD), a dead or stopped one does
   * not, and this one takes it over (a restart after SIGKILL resumes in seconds, not after the
   * TTL; the fence keeps a stopped holder from taking or trimming once it runs again). Resolves
   * false when `abort` ended the wait.
   */
  acquire(): Promise<boolean>;
  /** Rejects with PT_ERR_LEASE_LOST when a renewal finds the lease gone or someone else's. */
  readonly lost: Promise<never>;
  /** Ends a waiting `acquire` (shutdown before the lease was taken). */
  abort(): void;
  /** Stops renewing and deletes the lease if it still is ours. Idempotent. */
  release(): Promise<void>;
}

type RedisWithLease = Redis & {
  kafkastoreLeaseRenew(key: string, token: string, ttlMs: number): Promise<[number, string?]>;
  kafkastoreLeaseRelease(key: string, token: string): Promise<number>;
  kafkastoreLeaseTakeover(key: string, holder: string, token: string, ttlMs: number): Promise<number>;
};

export function createProcessingLease(options: {
  redis: Redis;
  processingKey: string;
  /** KAFKASTORE_INSTANCE, named in the messages. */
  instance: string;
  ttlMs: number;
  logger: Logger;
  registry: Registry;
  token?: string;
  now?: () => number;
}): ProcessingLease {
  const { redis, processingKey, instance, ttlMs, logger } = options;
  const now = options.now ?? Date.now;
  const key = ownerKey(processingKey);
  const token = options.token ?? leaseToken(ttlMs);
  redis.defineCommand('kafkastoreLeaseRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
  redis.defineCommand('kafkastoreLeaseRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  redis.defineCommand('kafkastoreLeaseTakeover', { numberOfKeys: 1, lua: TAKEOVER_SCRIPT });
  const scripted = redis as RedisWithLease;
  const renewEveryMs = renewalPeriod(ttlMs);
  const livenessWindowMs = 2 * renewEveryMs;
  const pollMs = Math.min(500, Math.max(50, Math.floor(renewEveryMs / 4)));

  const gauge = new Gauge({
    name: 'pushtech_kafkastore_lease',
    help: 'The lease on this instance’s processing list: 1 for the current state (waiting, held, lost, released)',
    labelNames: ['state'],
    registers: [options.registry],
  });
  let state: LeaseState = 'waiting';
  const enter = (next: LeaseState): void => {
    state = next;
    for (const s of leaseStates) gauge.set({ state: s }, s === next ? 1 : 0);
  };
  enter('waiting');

  let rejectLost: (error: PushtechError) => void = () => undefined;
  const lost = new Promise<never>((_, reject) => (rejectLost = reject));
  // Nobody may be listening (a test that only acquires); the rejection is read through `lost`.
  lost.catch(() => undefined);

  let aborted = false;
  let wakeWait: (() => void) | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let renewalFailing = false;

  const lose = (holder: string): void => {
    if (state !== 'held') return;
    enter('lost');
    clearTimeout(renewTimer);
    const who = holder === '' ? 'it expired or Redis lost it' : `another kafkastore holds it now (${holder})`;
    rejectLost(
      new PushtechError(
        'PT_ERR_LEASE_LOST',
        `lost the lease on ${processingKey} (KAFKASTORE_INSTANCE=${instance}): ${who}. Stopping without ` +
          'taking or trimming anything more, so the list has one owner; a restart takes it again once it is free',
      ),
    );
  };

  const renew = async (): Promise<void> => {
    if (state !== 'held') return;
    let delay = renewEveryMs;
    try {
      const [ours, holder] = await scripted.kafkastoreLeaseRenew(key, token, ttlMs);
      if (ours !== 1) {
        lose(holder ?? '');
        return;
      }
      if (renewalFailing) logger.info({ lease: key }, 'lease renewed again');
      renewalFailing = false;
    } catch (error: unknown) {
      // Redis unreachable: the lease may still be ours (it is only gone if Redis says so).
      if (!renewalFailing) logger.warn({ lease: key, err: error }, 'cannot renew the lease; retrying');
      renewalFailing = true;
      delay = pollMs;
    }
    if (state === 'held') renewTimer = setTimeout(() => void renew(), delay).unref();
  };

  /** Holds the lease from now on; `from` is the holder it was taken over from, or 'free'. */
  const taken = (from: string): true => {
    enter('held');
    if (from === 'free') logger.info({ lease: key, token, ttlMs }, 'holding the lease on the processing list');
    else {
      logger.warn(
        { lease: key, token, from, notRenewedMs: livenessWindowMs },
        'took the processing list over from a kafkastore that stopped renewing its lease (killed or stopped)',
      );
    }
    renewTimer = setTimeout(() => void renew(), renewEveryMs).unref();
    return true;
  };

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeWait = undefined;
        resolve();
      }
      wakeWait = done;
    });

  return {
    key,
    token,
    get state() {
      return state;
    },
    lost,
    async acquire() {
      // The holder seen, its lease's remaining time then, and since when it was not renewed.
      let watched: { holder: string; pttl: number; since: number } | undefined;
      for (;;) {
        if (aborted) return false;
        let holder: string | null;
        let pttl: number;
        try {
          if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') return taken('free');
          const [[, got], [, left]] = (await redis.pipeline().get(key).pttl(key).exec()) as [
            [Error | null, string | null],
            [Error | null, number],
          ];
          holder = got;
          pttl = left;
        } catch (error: unknown) {
          logger.warn({ lease: key, err: error }, 'cannot take the lease yet (Redis); retrying');
          await wait(pollMs);
          continue;
        }
        if (holder === null) continue;
        if (watched === undefined || watched.holder !== holder) {
          // A holder killed a while ago (this process took that long to start) is not watched again.
          watched = { holder, pttl, since: now() - sinceRenewal(holder, pttl) };
          logger.warn(
            { lease: key, holder, watchMs: livenessWindowMs },
            'another kafkastore holds the processing list; watching whether it still renews its lease',
          );
        } else if (pttl > watched.pttl) {
          throw new PushtechError(
            'PT_ERR_LEASE_HELD',
            `another kafkastore (${holder}) is draining the processing list ${processingKey}: ` +
              `KAFKASTORE_INSTANCE=${instance} is in use. Two instances on one list send most batches twice. ` +
              'Give each instance its own KAFKASTORE_INSTANCE (the default, the host name, is unique per ' +
              'container and pod); a holder that dies is taken over by the next start within seconds',
          );
        } else if (now() - watched.since >= livenessWindowMs) {
          if ((await scripted.kafkastoreLeaseTakeover(key, holder, token, ttlMs).catch(() => 0)) === 1) {
            return taken(holder);
          }
        } else {
          watched.pttl = pttl;
        }
        await wait(pollMs);
      }
    },
    abort() {
      aborted = true;
      wakeWait?.();
    },
    async release() {
      const held = state === 'held';
      clearTimeout(renewTimer);
      if (state === 'waiting' || state === 'held') enter('released');
      if (held) await scripted.kafkastoreLeaseRelease(key, token);
    },
  };
}

/** KAFKASTORE_LEASE=false: always held, never lost; an empty token turns the fence off. */
export function noLease(): ProcessingLease {
  return {
    key: '',
    token: '',
    state: 'held',
    acquire: () => Promise.resolve(true),
    lost: new Promise<never>(() => undefined),
    abort: () => undefined,
    release: () => Promise.resolve(),
  };
}
