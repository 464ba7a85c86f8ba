import type { Logger } from './logger.js';

export interface StopStep {
  readonly name: string;
  stop(): Promise<void> | void;
}

export interface LifecycleOptions {
  logger: Logger;
  /** After this long the process exits non-zero whatever is still running. */
  timeoutMs: number;
  /** Injected so tests can observe the exit instead of dying. */
  exit?: (code: number) => void;
  /** Called first when shutdown starts, e.g. to turn readiness off. */
  onShutdownStart?: () => void;
}

/**
 * Graceful shutdown for a service. Steps registered with `onStop` run in reverse order of
 * registration (the Kafka producer, registered first, is flushed last), each awaited even when
 * an earlier one failed. `shutdown` is idempotent; a second signal while stopping exits at once.
 */
export class Lifecycle {
  private readonly steps: StopStep[] = [];
  private readonly startCallbacks: (() => void)[] = [];
  private stopping: Promise<number> | undefined;
  private readonly exit: (code: number) => void;
  private signalsInstalled = false;

  constructor(private readonly options: LifecycleOptions) {
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  /** Called first when shutdown starts, before any stop step (e.g. to turn readiness off). */
  onShutdownStart(callback: () => void): this {
    this.startCallbacks.push(callback);
    return this;
  }

  onStop(name: string, stop: () => Promise<void> | void): this {
    this.steps.push({ name, stop });
    return this;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Runs every stop step once; resolves to the exit code (0 unless a step failed or timed out). */
  shutdown(reason: string, exitCode = 0): Promise<number> {
    this.stopping ??= this.runShutdown(reason, exitCode);
    return this.stopping;
  }

  private async runShutdown(reason: string, requestedCode: number): Promise<number> {
    const { logger } = this.options;
    logger.info({ reason }, 'shutting down');
    this.options.onShutdownStart?.();
    for (const callback of this.startCallbacks) callback();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      // Deliberately not unref'd: a step stuck on a promise with no I/O behind it must still
      // end in a non-zero exit rather than a silent natural exit.
      timer = setTimeout(() => resolve('timeout'), this.options.timeoutMs);
    });
    const work = (async () => {
      let failed = false;
      for (const step of [...this.steps].reverse()) {
        const started = Date.now();
        try {
          await step.stop();
          logger.debug({ step: step.name, ms: Date.now() - started }, 'stopped');
        } catch (error: unknown) {
          failed = true;
          logger.error({ step: step.name, err: error }, 'stop step failed');
        }
      }
      return failed;
    })();
    const outcome = await Promise.race([work, timedOut]);
    clearTimeout(timer);
    let code = requestedCode;
    if (outcome === 'timeout') {
      logger.error({ timeoutMs: this.options.timeoutMs }, 'shutdown timed out; exiting anyway');
      code = code || 1;
    } else if (outcome) {
      code = code || 1;
    }
    logger.info({ code }, 'stopped');
    logger.flush();
    this.exit(code);
    return code;
  }

  /** A fatal condition (a dead consumer loop, a lost invariant) ends the process non-zero. */
  fail(error: unknown, context: string): void {
    this.options.logger.fatal({ err: error, context }, 'fatal error; shutting down');
    void this.shutdown(`fatal: ${context}`, 1);
  }

  /** SIGTERM/SIGINT start a graceful shutdown; a second one exits immediately. */
  installSignalHandlers(target: NodeJS.Process = process): this {
    if (this.signalsInstalled) return this;
    this.signalsInstalled = true;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      target.on(signal, () => {
        if (this.isStopping) {
          this.options.logger.warn({ signal }, 'second signal while stopping; exiting now');
          this.exit(130);
          return;
        }
        void this.shutdown(signal);
      });
    }
    this.installCrashHandlers(target);
    return this;
  }

  /**
   * For a worker of a supervisor: the supervisor closes the IPC channel to stop it, and a worker
   * whose supervisor is gone (even by SIGKILL) stops too instead of living on orphaned. A Ctrl-C
   * reaches the whole process group, so a signal may come as well, before or after: any of them
   * starts the one graceful stop (a second Ctrl-C is the supervisor's to act on).
   */
  installSupervisorHandlers(target: NodeJS.Process = process): this {
    if (this.signalsInstalled) return this;
    this.signalsInstalled = true;
    target.once('disconnect', () => void this.shutdown('supervisor stopping or gone'));
    // Told before this module was loaded (a worker restarted just as the stop began).
    if (!target.connected) void this.shutdown('supervisor stopping or gone');
    for (const signal of ['SIGTERM', 'SIGINT'] as const) target.on(signal, () => void this.shutdown(signal));
    this.installCrashHandlers(target);
    return this;
  }

  private installCrashHandlers(target: NodeJS.Process): void {
    target.on('uncaughtException', (error) => this.fail(error, 'uncaughtException'));
    target.on('unhandledRejection', (reason) => this.fail(reason, 'unhandledRejection'));
  }
}
