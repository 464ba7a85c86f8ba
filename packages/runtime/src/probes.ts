import { describeError } from './errors.js';
import { Gauge, type Registry } from './metrics.js';

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

const exported = new WeakMap<Registry, Probes>();

/**
 * Exports the readiness verdict on `registry`, evaluated at each scrape like /readyz itself:
 * `pushtech_ready` (1 ready, 0 not) and `pushtech_ready_check{check}` (1 ok, 0 failing; the
 * `shutdown` check appears once shutdown began). answerOpsRequest calls it, so every service's
 * /metrics carries them; a second call for the same registry does nothing.
 */
export function exportReadiness(probes: Probes, registry: Registry): void {
  if (exported.has(registry)) return;
  exported.set(registry, probes);
  // Both gauges are collected concurrently by one scrape: they share one evaluation.
  let pending: Promise<ProbeReport> | undefined;
  const evaluate = (): Promise<ProbeReport> =>
    (pending ??= probes.ready().finally(() => {
      pending = undefined;
    }));
  new Gauge({
    name: 'pushtech_ready',
    help: 'Whether the service is ready (1) or not (0), as /readyz answers at scrape time',
    registers: [registry],
    async collect() {
      this.set((await evaluate()).ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pushtech_ready_check',
    help: 'Per readiness check: passing (1) or failing (0), at scrape time; /readyz says why',
    labelNames: ['check'],
    registers: [registry],
    async collect() {
      const { checks } = await evaluate();
      this.reset();
      for (const [check, verdict] of Object.entries(checks)) this.set({ check }, verdict === 'ok' ? 1 : 0);
    },
  });
}
