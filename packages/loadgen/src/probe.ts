import http from 'node:http';

/** Nothing answers at the target: the tracker is not running there. */
export class TargetUnreachableError extends Error {
  constructor(target: string, cause: unknown) {
    const why = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
    super(`no tracker answers at ${target} (${why}): start the pipeline with \`npm start\`, or pass --target <url>`, {
      cause,
    });
    this.name = 'TargetUnreachableError';
  }
}

/**
 * One GET /healthz before a run, so a run against nothing fails at once instead of counting
 * refused connections for its whole duration. Any HTTP answer will do: the run judges the rest.
 */
export function probeTarget(target: URL, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: target.hostname, port: target.port, path: '/healthz', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve();
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(new TargetUnreachableError(target.origin, error)));
  });
}

/**
 * Watches a run for a target that went away: it gives up once requests failed to connect and
 * nothing answered for `seconds`. A slow target (no answers, no errors) is not given up on.
 */
export class UnreachableWatch {
  private lastAnswerAt: number;
  private failuresSinceAnswer = 0;

  constructor(
    private readonly seconds: number,
    now = Date.now(),
  ) {
    this.lastAnswerAt = now;
  }

  answered(now = Date.now()): void {
    this.lastAnswerAt = now;
    this.failuresSinceAnswer = 0;
  }

  failed(): void {
    this.failuresSinceAnswer += 1;
  }

  /** Why the run should stop, or undefined while the target may still be there. */
  verdict(target: string, now = Date.now()): string | undefined {
    if (this.failuresSinceAnswer === 0 || now - this.lastAnswerAt < this.seconds * 1000) return undefined;
    return `no tracker answers at ${target}: ${this.failuresSinceAnswer} requests failed to connect and nothing answered for ${this.seconds} s; stopping`;
  }
}
