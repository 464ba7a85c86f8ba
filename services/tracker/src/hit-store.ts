import type { Redis } from 'ioredis';
import type { Logger } from '@pushtech/runtime';
import { HttpError } from './http-error.js';
import type { TrackerMetrics } from './metrics.js';

/** Called once Redis confirmed the entries (no argument) or refused them. */
export type StoreCallback = (error?: HttpError) => void;

interface Pending {
  readonly entries: readonly string[] | string;
  readonly done: StoreCallback;
}

/**
 * The tracker's write path. Hits of all requests that arrive in one event-loop turn are pushed
 * with a single multi-value LPUSH; each request's promise settles only when Redis confirmed
 * that push, so a 2xx always means "stored". While Redis is unreachable, or the list holds
 * `maxQueue` entries or more, writes are refused with 503 instead of being queued in memory.
 */
export class HitStore {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private queueLength = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly lengthTimer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly options: {
      key: string;
      maxQueue: number;
      retryAfterSeconds: number;
      logger: Logger;
      metrics: TrackerMetrics;
    },
  ) {
    // LPUSH replies carry the length; while nothing is pushed, poll it so a drained buffer
    // reopens the door without waiting for a write that is being refused.
    this.lengthTimer = setInterval(() => void this.refreshLength(), 250);
    this.lengthTimer.unref();
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  get knownQueueLength(): number {
    return this.queueLength;
  }

  /** Why writes are refused right now, or undefined when they are accepted. */
  refusal(): string | undefined {
    if (!this.connected) return `Redis is unreachable (${this.redis.status})`;
    if (this.queueLength >= this.options.maxQueue) {
      return `the buffer holds ${this.queueLength} events; the cap is ${this.options.maxQueue}`;
    }
    return undefined;
  }

  /** Stores the encoded hits; resolves once Redis confirmed them, rejects with a 503 otherwise. */
  store(entries: readonly string[]): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.storeThen(entries, (error) => (error ? reject(error) : resolve())),
    );
  }

  /**
   * The same without a promise, for the pixel hot path: `done` runs when the LPUSH holding
   * these entries was confirmed or failed (synchronously when writes are refused right now).
   */
  storeThen(entries: readonly string[] | string, done: StoreCallback): void {
    const refusal = this.refusal();
    if (refusal) {
      const count = typeof entries === 'string' ? 1 : entries.length;
      this.options.metrics.rejected.inc({ reason: this.connected ? 'queue_full' : 'redis_down' }, count);
      done(this.unavailable(refusal));
      return;
    }
    this.pending.push({ entries, done });
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate runs once per loop turn, after the I/O callbacks of that turn: every
      // request parsed in this turn joins the same LPUSH.
      setImmediate(() => void this.flush());
    }
  }

  private unavailable(reason: string): HttpError {
    return new HttpError(503, 'temporarily unavailable', `${reason}; retry later`, {
      'Retry-After': String(this.options.retryAfterSeconds),
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const entries: string[] = [];
    for (const p of batch) {
      if (typeof p.entries === 'string') entries.push(p.entries);
      else for (const e of p.entries) entries.push(e);
    }
    this.inFlight += 1;
    const started = process.hrtime.bigint();
    try {
      const length = await this.redis.lpush(this.options.key, ...entries);
      this.queueLength = length;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.options.metrics.pushLatency.observe(ms);
      this.options.metrics.pushBatchSize.observe(entries.length);
      this.options.metrics.stored.inc(entries.length);
      this.options.metrics.queueLength.set(length);
      for (const p of batch) p.done();
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      this.options.logger.warn({ err: reason, events: entries.length }, 'LPUSH failed; answering 503');
      this.options.metrics.rejected.inc({ reason: 'redis_error' }, entries.length);
      const refusal = this.unavailable(`Redis did not confirm the write (${reason})`);
      for (const p of batch) p.done(refusal);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0 && this.pending.length === 0 && !this.scheduled) {
        for (const wake of this.idleWaiters.splice(0)) wake();
      }
    }
  }

  private async refreshLength(): Promise<void> {
    if (!this.connected) return;
    try {
      this.queueLength = await this.redis.llen(this.options.key);
      this.options.metrics.queueLength.set(this.queueLength);
    } catch {
      // the next push or poll tells
    }
  }

  /** Resolves when every accepted write has been confirmed or refused (for shutdown). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.pending.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    clearInterval(this.lengthTimer);
  }
}
