import type { Redis } from 'ioredis';
import { describeError, type Logger } from '@pushtech/runtime/core';
import { HttpError } from './http-error.js';
import type { TrackerMetrics } from './metrics.js';
import type { WriterLease } from './writer-lease.js';

/**
 * A linger must have gathered at least this many requests before a batch of as many goes without
 * waiting for it (see HitStore.gatheredAll): a closed loop of fewer connections per process
 * stays held to one batch per linger (fewer than 8 per 2 ms: under 4 000 requests a second).
 */
export const CLOSED_LOOP_REQUESTS = 8;

/** Called once Redis confirmed the entries (no argument) or refused them. */
export type StoreCallback = (error?: HttpError) => void;

interface Pending {
  readonly entries: readonly string[] | string;
  readonly done: StoreCallback;
}

/**
 * The tracker's write path. Hits of all requests that arrive within `lingerMs` of the first one
 * are pushed with a single multi-value LPUSH (with `lingerMs` 0, those of one event-loop turn);
 * as soon as `maxBatch` events wait, they go at once, and so do as many requests as a linger
 * gathered at most in the last second or two (then no more are likely to come: a closed loop
 * of keep-alive connections). Each request's promise settles only when Redis confirmed that
 * push, so a 2xx always means "stored", at most `lingerMs` later than without the linger. While
 * Redis is unreachable, or the list holds `maxQueue` entries or more, writes are refused with
 * 503 instead of being queued in memory. Every push is covered by the writer lease (see
 * WriterLease): without one, 503 too.
 */
export class HitStore {
  private pending: Pending[] = [];
  private pendingEvents = 0;
  /** The linger timer (or the end-of-turn callback) of the pending batch, if one is armed. */
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private inFlight = 0;
  private queueLength = 0;
  private idleWaiters: (() => void)[] = [];
  /** Polls the list's length while it is at the cap (see refreshLength). */
  private lengthTimer: NodeJS.Timeout | undefined;
  /**
   * The most requests one linger gathered (a batch the linger timer sent), in this second and in
   * the one before (see storeThen).
   */
  private gathered = 0;
  private gatheredBefore = 0;
  private gatheredSecond = 0;
  private readonly flushScheduled = (): void => {
    this.flushTimer = undefined;
    if (this.options.lingerMs > 0) this.noteGathered(this.pending.length);
    void this.flush();
  };

  constructor(
    private readonly redis: Redis,
    private readonly options: {
      key: string;
      maxQueue: number;
      retryAfterSeconds: number;
      /** How long the first pending event waits for others to share its LPUSH; 0: one loop turn. */
      lingerMs: number;
      /** Pending events that send the LPUSH at once, without waiting for the linger. */
      maxBatch: number;
      logger: Logger;
      metrics: TrackerMetrics;
      lease: WriterLease;
    },
  ) {
    // Known at once, not only from the first LPUSH reply: a restart may find the list at the cap.
    redis.on('ready', () => void this.refreshLength());
    options.metrics.onCollectQueueLength(() => this.refreshLength());
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
    if (!this.options.lease.registered) return 'this tracker holds no writer lease (starting or stopping)';
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
      const reason = !this.connected ? 'redis_down' : this.options.lease.registered ? 'queue_full' : 'no_writer_lease';
      this.options.metrics.rejected.inc({ reason }, count);
      done(this.unavailable(refusal));
      return;
    }
    this.pending.push({ entries, done });
    this.pendingEvents += typeof entries === 'string' ? 1 : entries.length;
    if (this.pendingEvents >= this.options.maxBatch || this.gatheredAll()) {
      // A full batch goes now: nothing waits for the timer when the work is there. So does one
      // with as many requests as a linger gathered at most lately: when a fixed set of
      // keep-alive connections (a load balancer's pool, a benchmark's) each wait for an answer,
      // no other request can come, and the linger alone would cap them at one batch per linger.
      this.cancelFlushTimer();
      void this.flush();
    } else if (this.flushTimer === undefined) {
      // setImmediate runs once per loop turn, after the I/O callbacks of that turn: every
      // request parsed in this turn joins the same LPUSH. The linger lets the requests of the
      // next few turns join it too, which at moderate rates (a request or two per turn) turns
      // one LPUSH per request into one per linger.
      this.flushTimer =
        this.options.lingerMs === 0
          ? setImmediate(this.flushScheduled)
          : setTimeout(this.flushScheduled, this.options.lingerMs);
    }
  }

  /**
   * Whether the requests waiting are as many as a linger gathered at most, this second or the
   * last, if that was at least CLOSED_LOOP_REQUESTS. Below it the rate is moderate (a few
   * requests per linger), where the linger's batching is what it is for, and ending lingers
   * early at their usual size would shrink the batches (only a linger the timer ends tells what
   * it gathers).
   */
  private gatheredAll(): boolean {
    // Per request: the clock is read only once enough wait for the answer to be yes.
    if (this.options.lingerMs === 0 || this.pending.length < CLOSED_LOOP_REQUESTS) return false;
    this.rotateGathered();
    const most = Math.max(this.gathered, this.gatheredBefore);
    return most >= CLOSED_LOOP_REQUESTS && this.pending.length >= most;
  }

  private noteGathered(requests: number): void {
    this.rotateGathered();
    if (requests > this.gathered) this.gathered = requests;
  }

  private rotateGathered(): void {
    const second = Math.floor(Date.now() / 1000);
    if (second === this.gatheredSecond) return;
    this.gatheredBefore = second === this.gatheredSecond + 1 ? this.gathered : 0;
    this.gathered = 0;
    this.gatheredSecond = second;
  }

  private cancelFlushTimer(): void {
    const timer = this.flushTimer;
    if (timer === undefined) return;
    this.flushTimer = undefined;
    if (this.options.lingerMs === 0) clearImmediate(timer as NodeJS.Immediate);
    else clearTimeout(timer as NodeJS.Timeout);
  }

  private unavailable(reason: string): HttpError {
    return new HttpError(503, 'temporarily unavailable', `${reason}; retry later`, {
      'Retry-After': String(this.options.retryAfterSeconds),
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.pendingEvents = 0;
    if (batch.length === 0) return;
    const entries: string[] = [];
    for (const p of batch) {
      if (typeof p.entries === 'string') entries.push(p.entries);
      else for (const e of p.entries) entries.push(e);
    }
    this.inFlight += 1;
    const started = process.hrtime.bigint();
    try {
      if (!this.options.lease.coversPushAt(Date.now())) {
        throw new Error('the writer lease is not renewed (Redis slow or unreachable) or released');
      }
      const length = await this.redis.lpush(this.options.key, ...entries);
      this.setQueueLength(length);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.options.metrics.pushLatency.observe(ms);
      this.options.metrics.pushBatchSize.observe(entries.length);
      this.options.metrics.stored.inc(entries.length);
      this.options.metrics.queueLength.set(length);
      for (const p of batch) p.done();
    } catch (error: unknown) {
      const reason = describeError(error);
      this.options.logger.warn({ err: reason, events: entries.length }, 'LPUSH failed; answering 503');
      this.options.metrics.rejected.inc({ reason: 'redis_error' }, entries.length);
      const refusal = this.unavailable(`Redis did not confirm the write (${reason})`);
      for (const p of batch) p.done(refusal);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0 && this.pending.length === 0 && this.flushTimer === undefined) {
        for (const wake of this.idleWaiters.splice(0)) wake();
      }
    }
  }

  /**
   * LPUSH replies carry the length. While it is at the cap, writes are refused, so no reply
   * would tell that kafkastore drained the list: then the length is polled, so the door reopens
   * without a restart. Below the cap nothing polls (an idle tracker sends Redis nothing).
   */
  private setQueueLength(length: number): void {
    this.queueLength = length;
    this.options.metrics.queueLength.set(length);
    if (length >= this.options.maxQueue && this.lengthTimer === undefined) {
      this.lengthTimer = setInterval(() => void this.refreshLength(), 250);
      this.lengthTimer.unref();
    } else if (length < this.options.maxQueue && this.lengthTimer !== undefined) {
      clearInterval(this.lengthTimer);
      this.lengthTimer = undefined;
    }
  }

  /** Reads the list's length (the cap poll, and /metrics, so an idle tracker's gauge is not stale). */
  async refreshLength(): Promise<void> {
    if (!this.connected) return;
    try {
      this.setQueueLength(await this.redis.llen(this.options.key));
    } catch {
      // the next push or poll tells
    }
  }

  /** Resolves when every accepted write has been confirmed or refused (for shutdown). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.pending.length === 0 && this.flushTimer === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    clearInterval(this.lengthTimer);
    this.lengthTimer = undefined;
  }
}
