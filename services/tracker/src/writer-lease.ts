import type { Redis } from 'ioredis';
import { writersKey, type Logger } from '@pushtech/runtime/core';

/** How long a registration lives without renewal: a SIGKILLed tracker stops counting after this. */
export const WRITER_LEASE_MS = 10_000;
/** How often a live tracker renews its registration. */
export const WRITER_RENEW_MS = 2_000;
/**
 * A push is sent only while the lease has at least this long to run: the LPUSH may reach Redis
 * up to the command timeout (2 s) after it was sent, and kafkastore reads the expiry with its
 * own clock.
 */
export const WRITER_LEASE_MARGIN_MS = 3_000;

/**
 * The tracker's side of the contract with kafkastore's drain on exit: while this process can
 * LPUSH onto the queue it is a member of the sorted set `writersKey(queue)`, scored with the
 * expiry of its lease (ms since the epoch), renewed every WRITER_RENEW_MS. `release` removes it
 * once the last push was confirmed, so kafkastore may end its drain as soon as the list is empty
 * and no live member remains.
 */
export class WriterLease {
  private expiresAt = 0;
  private released = false;
  private renewing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: { queueKey: string; writerId: string; logger: Logger },
  ) {
    this.key = writersKey(options.queueKey);
    this.timer = setInterval(() => this.renew(), WRITER_RENEW_MS);
    this.timer.unref();
    // Registered as soon as Redis is there, not only at the next tick.
    redis.on('ready', () => this.renew());
    if (redis.status === 'ready') this.renew();
  }

  get writerId(): string {
    return this.options.writerId;
  }

  /** Whether a push sent now is covered by the lease until Redis has applied it. */
  coversPushAt(now: number): boolean {
    return !this.released && this.expiresAt - now >= WRITER_LEASE_MARGIN_MS;
  }

  /** Whether the lease was registered and not released (cheap enough for every request). */
  get registered(): boolean {
    return !this.released && this.expiresAt > 0;
  }

  private renew(): void {
    if (this.released) return;
    // One renewal at a time, so a late ZADD can never land after the ZREM of release().
    this.renewing = this.renewing.then(async () => {
      if (this.released || this.redis.status !== 'ready') return;
      const now = Date.now();
      const expiry = now + WRITER_LEASE_MS;
      try {
        const results = await this.redis
          .multi()
          // Registrations of trackers that died without releasing are dropped once expired.
          .zremrangebyscore(this.key, '-inf', now)
          .zadd(this.key, expiry, this.options.writerId)
          // The set disappears when the last writer stops renewing.
          .pexpire(this.key, WRITER_LEASE_MS)
          .exec();
        const failed = results === null ? new Error('transaction discarded') : results.find(([err]) => err)?.[0];
        if (failed) throw failed;
        this.expiresAt = Math.max(this.expiresAt, expiry);
      } catch (error: unknown) {
        this.options.logger.warn(
          { err: error, writer: this.options.writerId, expiresInMs: this.expiresAt - Date.now() },
          'writer lease not renewed; retrying',
        );
      }
    });
  }

  /**
   * Stops renewing and removes the registration. Call only after the last push was confirmed:
   * from here on no push is covered. When Redis cannot be reached the lease expires by itself.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.renewing;
    try {
      await this.redis.zrem(this.key, this.options.writerId);
    } catch (error: unknown) {
      this.options.logger.warn(
        { err: error, writer: this.options.writerId, expiresInMs: Math.max(0, this.expiresAt - Date.now()) },
        'writer lease not removed; it expires by itself',
      );
    }
  }
}
