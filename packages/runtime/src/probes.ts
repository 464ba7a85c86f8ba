import { describeError } from './errors.js';
/**
 * Liveness and readiness are different questions. Live: the process is not wedged (cheap,
 * never touches dependencies, so a Redis outage does not get every pod restarted). Ready: the
 * service can do its job now (its connections are up), so traffic or work should come to it.
 */
export interface ReadinessCheck {
  readonly name: string;
  /** true when ready; false or a short reason when not. Must be cheap: it runs per probe. */
  check(): boolean | string | Promise<boolean | string>;
}

export interface ProbeReport {
  readonly ok: boolean;
  /** Per check: 'ok', or why it is not ready. */
  readonly checks: Readonly<Record<string, string>>;
}

export class Probes {
  private readonly checks: ReadinessCheck[] = [];
  private shuttingDown = false;

  add(check: ReadinessCheck): this {
    this.checks.push(check);
    return this;
  }

  /** Once shutdown begins the service reports not-ready, so load balancers stop sending work. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  live(): ProbeReport {
    return { ok: true, checks: {} };
  }

  async ready(): Promise<ProbeReport> {
    const checks: Record<string, string> = {};
    let ok = !this.shuttingDown;
    if (this.shuttingDown) checks['shutdown'] = 'shutting down';
    const results = await Promise.allSettled(this.checks.map(async (c) => [c.name, await c.check()] as const));
    results.forEach((result, i) => {
      const name = this.checks[i]?.name ?? `check${i}`;
      if (result.status === 'rejected') {
        ok = false;
        checks[name] = describeError(result.reason);
      } else {
        const value = result.value[1];
        checks[name] = value === true ? 'ok' : value === false ? 'not ready' : value;
        if (value !== true) ok = false;
      }
    });
    return { ok, checks };
  }
}
