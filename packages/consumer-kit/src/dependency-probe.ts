import { describeError, type Logger } from '@pushtech/runtime';

export interface DependencyProbeOptions {
  /** Throws when a dependency cannot take a write now (a Redis SET, a file written and synced). */
  readonly check: () => Promise<void>;
  /** How often the probe runs on its own, for readiness. */
  readonly intervalMs: number;
  /** A probe that has not answered by then counts as failed (a hung disk, a silent Redis). */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * A consumer's dependency probe: run on an interval for readiness (never per event), and on
 * demand by the batch processor before it dead-letters anything and while it waits out an
 * outage. One run at a time; readiness reads the last result, so /readyz stays cheap.
 */
export class DependencyProbe {
  private failure: string | undefined;
  private inflight: Promise<void> | undefined;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DependencyProbeOptions) {}

  /** Runs the probe (or joins the run in flight); rejects with what failed. */
  run(): Promise<void> {
    this.inflight ??= this.probe().finally(() => (this.inflight = undefined));
    return this.withTimeout(this.inflight);
  }

  /** Starts probing every `intervalMs`. */
  start(): void {
    this.timer ??= setInterval(() => void this.run().catch(() => undefined), this.options.intervalMs).unref();
    void this.run().catch(() => undefined);
  }

  /** Stops probing; resolves once a run in flight ended (no probe writes after a stop) or timed out. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.inflight) await this.withTimeout(this.inflight).catch(() => undefined);
  }

  /** true, or why the dependencies are not usable (the last probe's error, or a hung probe). */
  readiness(): true | string {
    if (this.inflight && Date.now() - this.startedAt > this.options.timeoutMs) {
      return `dependency probe unanswered for ${Date.now() - this.startedAt} ms`;
    }
    return this.failure === undefined ? true : `dependency probe failed: ${this.failure}`;
  }

  private async probe(): Promise<void> {
    this.startedAt = Date.now();
    try {
      await this.options.check();
    } catch (error: unknown) {
      if (this.failure === undefined) this.options.logger.warn({ err: error }, 'dependency probe failed');
      this.failure = describeError(error);
      throw error;
    }
    if (this.failure !== undefined) this.options.logger.info({ was: this.failure }, 'dependency probe passes again');
    this.failure = undefined;
  }

  private withTimeout(run: Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`dependency probe unanswered after ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      run.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }
}
