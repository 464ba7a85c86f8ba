import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import type { Logger } from '@pushtech/runtime';
import type { HealthTarget } from './health-targets.js';
import {
  addBuckets,
  bucketIncrease,
  histogramQuantile,
  MalformedHistogram,
  readHealth,
  stageRates,
  type Reading,
  type StageRate,
} from './health-readings.js';
import type { KafidxMetrics } from './metrics.js';
import { ExpositionError, parseExposition } from './prom-text.js';

/** A browser that asked for the health strip (kafidx's Viewer is one). */
export interface HealthSubscriber {
  readonly socket: WebSocket;
  readonly open: boolean;
  send(message: Record<string, unknown>): void;
}

/** One target's line of the strip. Values of a target that is down are its last ones (stale). */
export interface TargetHealth {
  readonly name: string;
  readonly up: boolean;
  /** Why the last scrape failed; null when it succeeded (or none was made yet). */
  readonly error: string | null;
  /** When the last successful scrape answered (ms since the epoch); null: never yet. */
  readonly lastUpAt: number | null;
  readonly queue: Reading['queue'] | null;
  /** Over the last interval; empty until two scrapes in a row succeeded. */
  readonly rates: readonly StageRate[];
  /** The seconds between the two scrapes the rates and klag p99 are from; null without rates. */
  readonly overSeconds: number | null;
  readonly lag: readonly { readonly consumer: string; readonly messages: number }[];
  /** null: the target has no klag histogram; p99Ms null: no event produced in the last interval. */
  readonly klag: { readonly p99Ms: number | null } | null;
}

export interface HealthMessage {
  readonly t: 'health';
  readonly enabled: true;
  readonly intervalMs: number;
  /** When this poll ended (ms since the epoch). */
  readonly at: number;
  readonly targets: readonly TargetHealth[];
  /** Over every target's klag histogram, as sum by (le) would; null when none has one. */
  readonly klag: { readonly p99Ms: number | null } | null;
}

export interface HealthMonitorOptions {
  readonly targets: readonly HealthTarget[];
  readonly intervalMs: number;
  readonly metrics: KafidxMetrics;
  readonly logger: Logger;
}

/** Most bytes read from one /metrics answer; a service's own is a few tens of KiB. */
const MAX_BYTES = 4 * 1024 * 1024;

interface TargetState {
  reading?: Reading;
  /** The klag observations of the last interval (bucket increases). */
  klagIncrease?: Map<number, number>;
  rates: StageRate[];
  overSeconds: number | null;
  up: boolean;
  error: string | null;
  lastUpAt: number | null;
}

/**
 * The page's pipeline-health strip: kafidx scrapes each KAFIDX_HEALTH_TARGETS /metrics itself,
 * every KAFIDX_HEALTH_INTERVAL_MS, and sends every subscribed browser queue depth, stage rates,
 * klag p99 and consumer lag. It scrapes only while at least one browser is subscribed; when the
 * last one leaves it stops and forgets its readings (rates over a gap nobody saw mean nothing).
 */
export class HealthMonitor {
  private readonly subscribers = new Set<HealthSubscriber>();
  private readonly states = new Map<string, TargetState>();
  private readonly agents = new Map<string, http.Agent>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private latest: HealthMessage | undefined;
  private stopped = false;

  constructor(private readonly options: HealthMonitorOptions) {}

  /** Whether any target is configured; without one the page shows no strip. */
  get enabled(): boolean {
    return this.options.targets.length > 0;
  }

  /** Whether a poll runs or is scheduled now. */
  get active(): boolean {
    return this.polling !== undefined || this.timer !== undefined;
  }

  subscribe(subscriber: HealthSubscriber): void {
    if (!this.enabled || this.stopped) {
      subscriber.send({ t: 'health', enabled: false });
      return;
    }
    if (!this.subscribers.has(subscriber)) {
      this.subscribers.add(subscriber);
      subscriber.socket.once('close', () => this.unsubscribe(subscriber));
    }
    if (this.latest) subscriber.send({ ...this.latest });
    if (!this.active) this.poll();
  }

  private unsubscribe(subscriber: HealthSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.forget();
    }
  }

  /** Nobody watches: no readings kept, no connection left open. */
  private forget(): void {
    this.states.clear();
    this.latest = undefined;
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private poll(): void {
    const started = performance.now();
    this.polling = this.pollOnce()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'health poll failed'))
      .finally(() => {
        this.polling = undefined;
        if (this.stopped || this.subscribers.size === 0) {
          this.forget();
          return;
        }
        const wait = Math.max(0, this.options.intervalMs - (performance.now() - started));
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.poll();
        }, wait);
      });
  }

  private async pollOnce(): Promise<void> {
    await Promise.all(this.options.targets.map((target) => this.scrape(target)));
    const targets = this.options.targets.map((target) => this.view(target));
    const increases = [...this.states.values()].flatMap((s) => (s.up && s.klagIncrease ? [s.klagIncrease] : []));
    const anyKlag = this.options.targets.some((t) => this.states.get(t.name)?.reading?.klagBuckets !== undefined);
    const message: HealthMessage = {
      t: 'health',
      enabled: true,
      intervalMs: this.options.intervalMs,
      at: Date.now(),
      targets,
      klag: anyKlag ? { p99Ms: histogramQuantile(0.99, addBuckets(increases)) ?? null } : null,
    };
    this.latest = message;
    for (const subscriber of this.subscribers) {
      if (subscriber.open) subscriber.send({ ...message });
    }
  }

  private async scrape(target: HealthTarget): Promise<void> {
    const state = this.states.get(target.name) ?? {
      rates: [],
      overSeconds: null,
      up: false,
      error: null,
      lastUpAt: null,
    };
    this.states.set(target.name, state);
    try {
      let agent = this.agents.get(target.name);
      if (!agent) this.agents.set(target.name, (agent = scrapeAgent(target.url)));
      const { text, at } = await fetchMetrics(target.url, agent, scrapeTimeoutMs(this.options.intervalMs));
      const reading = readHealth(parseExposition(text), at);
      const before = state.reading;
      state.rates = before ? stageRates(before, reading) : [];
      state.overSeconds = before ? (reading.at - before.at) / 1000 : null;
      state.klagIncrease =
        before && reading.klagBuckets ? bucketIncrease(before.klagBuckets, reading.klagBuckets) : undefined;
      state.reading = reading;
      if (!state.up && state.error !== null) this.options.logger.info({ target: target.name }, 'health target is back');
      state.up = true;
      state.error = null;
      state.lastUpAt = Date.now();
      this.options.metrics.healthScrapes.inc({ target: target.name, result: 'ok' });
    } catch (error: unknown) {
      const reason = scrapeFailure(error);
      if (state.up || state.error === null) {
        this.options.logger.warn({ target: target.name, url: target.url, reason }, 'health target unreachable');
      }
      state.up = false;
      state.error = reason;
      state.rates = [];
      state.overSeconds = null;
      state.klagIncrease = undefined;
      this.options.metrics.healthScrapes.inc({ target: target.name, result: 'failed' });
    }
  }

  private view(target: HealthTarget): TargetHealth {
    const state = this.states.get(target.name);
    const reading = state?.reading;
    return {
      name: target.name,
      up: state?.up ?? false,
      error: state?.error ?? null,
      lastUpAt: state?.lastUpAt ?? null,
      queue: reading?.queue ?? null,
      rates: state?.rates ?? [],
      overSeconds: state?.overSeconds ?? null,
      lag: [...(reading?.lag ?? [])]
        .map(([consumer, messages]) => ({ consumer, messages }))
        .sort((a, b) => a.consumer.localeCompare(b.consumer)),
      klag: reading?.klagBuckets
        ? { p99Ms: state?.klagIncrease ? (histogramQuantile(0.99, state.klagIncrease) ?? null) : null }
        : null,
    };
  }

  /** Stops polling for good; resolves once a poll in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    this.subscribers.clear();
    this.forget();
  }
}

/** A scrape may take up to the interval, within 2 to 10 s. */
function scrapeTimeoutMs(intervalMs: number): number {
  return Math.min(Math.max(intervalMs, 2_000), 10_000);
}

class ScrapeError extends Error {}

/**
 * One kept-alive connection per target. A tracker with TRACKER_WORKERS > 1 answers /metrics from
 * whichever worker the connection lands on, each with its own counters; staying on one
 * connection keeps the readings from one worker while the server keeps it open (uWebSockets.js:
 * 10 s idle), so its rates are not differences between two processes.
 */
function scrapeAgent(url: string): http.Agent {
  const options = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1 };
  return url.startsWith('https:') ? new https.Agent(options) : new http.Agent(options);
}

function fetchMetrics(url: string, agent: http.Agent, timeoutMs: number): Promise<{ text: string; at: number }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const request = get(
      url,
      { agent, signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'text/plain;version=0.0.4' } },
      (response) => {
        const at = performance.now();
        if (response.statusCode !== 200) {
          response.resume();
          reject(new ScrapeError(`HTTP ${response.statusCode ?? 0}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > MAX_BYTES) {
            request.destroy(new ScrapeError(`answer larger than ${MAX_BYTES / 1024 / 1024} MiB`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), at }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

/** Why a scrape failed, in a few words for the page (never the target's answer itself). */
export function scrapeFailure(error: unknown): string {
  if (error instanceof ScrapeError) return error.message;
  if (error instanceof ExpositionError || error instanceof MalformedHistogram) {
    return `not Prometheus text: ${error.message}`;
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return 'no answer in time';
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return typeof code === 'string' ? code : 'unreachable';
  }
}
