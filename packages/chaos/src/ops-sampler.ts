import { sleep } from './sleep.js';

/** What the ops endpoints of a consumer process said at one moment. */
export interface OpsSample {
  /** /readyz answered 200; false for any other answer or none. */
  readonly ready: boolean;
  /** The largest `pushtech_consumer_outage` sample on /metrics; undefined when there is none. */
  readonly outage: number | undefined;
}

/** What a watch saw: how often not ready, and the highest outage metric. */
export interface OpsWatch {
  readonly samples: number;
  readonly notReady: number;
  readonly outageMax: number;
}

/** Readiness and the outage metric of the consumers process whose ops listener is on `port`. */
export async function sampleOps(port: number): Promise<OpsSample> {
  const base = `http://127.0.0.1:${port}`;
  const get = (route: string): Promise<{ status: number; text: string }> =>
    fetch(`${base}${route}`, { signal: AbortSignal.timeout(1_000) }).then(
      async (r) => ({ status: r.status, text: await r.text() }),
      () => ({ status: 0, text: '' }),
    );
  const [ready, metrics] = await Promise.all([get('/readyz'), get('/metrics')]);
  return { ready: ready.status === 200, outage: metricMax(metrics.text, 'pushtech_consumer_outage') };
}

/** Ends a watch and resolves with what it saw; `seen` tells what it has seen so far. */
export type StopWatching = (() => Promise<OpsWatch>) & { readonly seen: () => OpsWatch };

/**
 * Takes a sample every 100 ms until the returned function is first called; it resolves (every
 * time) with what was seen.
 */
export function watchOps(sample: () => Promise<OpsSample>): StopWatching {
  let watching = true;
  const seen = { samples: 0, notReady: 0, outageMax: 0 };
  const loop = (async () => {
    while (watching) {
      const s = await sample();
      if (!watching) break;
      seen.samples += 1;
      if (!s.ready) seen.notReady += 1;
      seen.outageMax = Math.max(seen.outageMax, s.outage ?? 0);
      await sleep(100);
    }
  })();
  const stop = async (): Promise<OpsWatch> => {
    watching = false;
    await loop;
    return { ...seen };
  };
  return Object.assign(stop, { seen: (): OpsWatch => ({ ...seen }) });
}

/** The largest value among the samples of `name` in Prometheus text; undefined when it has none. */
export function metricMax(text: string, name: string): number | undefined {
  let max: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sampleName = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0];
    if (sampleName !== name) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) max = Math.max(max ?? value, value);
  }
  return max;
}
