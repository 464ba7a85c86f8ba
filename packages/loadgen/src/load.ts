import { LeanHttpClient, type LeanRequestError } from './http-client.js';
import { Latencies } from './latency.js';
import { UnreachableWatch } from './probe.js';
import { makePixel, seededRandom, type Pixel } from './traffic.js';

export interface LoadOptions {
  /** http://host:port of the tracker. */
  readonly target: string;
  /** Events per second to send, whatever the answers take (open model). */
  readonly rate: number;
  readonly durationSeconds: number;
  /** One event type for every pixel instead of the realistic mix. */
  readonly event?: string | undefined;
  /** Send `POST /t` batches of this many events instead of single pixels. */
  readonly batchSize?: number | undefined;
  readonly connections: number;
  readonly seed?: number;
  /** Called with every acknowledged (2xx) request id. */
  readonly onAcknowledged?: (rids: readonly string[]) => void;
  /** The run stops once requests failed to connect and nothing answered for this long. */
  readonly giveUpAfterSeconds?: number;
  /** A request whose connection stays silent this long fails with ETIMEDOUT (default 30). */
  readonly answerTimeoutSeconds?: number;
}

export interface LoadSnapshot {
  readonly elapsedSeconds: number;
  readonly scheduled: number;
  readonly acknowledged: number;
  readonly refused: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly statuses: Readonly<Record<string, number>>;
}

export interface LoadResult extends LoadSnapshot {
  readonly latency: Latencies;
  /** Why the run stopped early (the target stopped answering), if it did. */
  readonly gaveUp?: string;
}

/**
 * Sends pixels at a constant rate. Each request has a scheduled send time; its latency is
 * measured from that time (or from its send, when that was earlier), so a server that falls
 * behind shows the queueing it causes instead of quietly lowering the offered rate (no
 * coordinated omission).
 */
export async function runLoad(
  options: LoadOptions,
  onSecond?: (snapshot: LoadSnapshot, window: Latencies) => void,
): Promise<LoadResult> {
  const url = new URL(options.target);
  // uWebSockets.js closes an HTTP connection idle for 10 s. A request sent on a pooled socket whose
  // close is still on its way is reset, and a busy event loop widens that window: one CI run saw
  // it, at 2,000 events/s over 16 connections, most of them idle (the pool reuses the newest
  // socket). The client closes its idle sockets first, after 5 s.
  const answerMs = options.answerTimeoutSeconds === undefined ? undefined : options.answerTimeoutSeconds * 1000;
  const client = new LeanHttpClient(url, options.connections, 5_000, answerMs);
  const random = seededRandom(options.seed ?? Date.now());
  const runId = Math.floor(random() * 36 ** 6).toString(36);
  const batch = options.batchSize ?? 0;
  const eventsPerRequest = batch > 0 ? batch : 1;
  const requestRate = options.rate / eventsPerRequest;
  const total = Math.round(requestRate * options.durationSeconds);
  const latency = new Latencies();
  const window = new Latencies();
  const statuses: Record<string, number> = {};
  let scheduled = 0;
  let acknowledged = 0;
  let refused = 0;
  let failed = 0;
  let inFlight = 0;
  let seq = 0;
  const started = performance.now();
  const watch = new UnreachableWatch(options.giveUpAfterSeconds ?? 5, started);
  let gaveUp: string | undefined;
  const snapshot = (): LoadSnapshot => ({
    elapsedSeconds: (performance.now() - started) / 1000,
    scheduled,
    acknowledged,
    refused,
    failed,
    inFlight,
    statuses: { ...statuses },
  });

  const send = (due: number): Promise<void> => {
    // Latency counts from the earlier of the due time and the send. A request sent late (waiting
    // for a slot behind a slow server) counts from its due time; the loop also sends up to 1 ms
    // early (a timer cannot wait less, nor to a fraction of a ms): that one counts from its send,
    // so no latency is below zero.
    const from = Math.min(due, performance.now());
    const pixels: Pixel[] = Array.from({ length: eventsPerRequest }, () =>
      makePixel(seq++, random, { event: options.event, runId }),
    );
    const first = pixels[0] as Pixel;
    const body =
      batch > 0
        ? JSON.stringify(
            pixels.map((p) => ({
              event: p.path.slice(3, p.path.indexOf('?')),
              params: Object.fromEntries(new URL(p.path, url).searchParams),
            })),
          )
        : undefined;
    inFlight += 1;
    const headers: Record<string, string> = {
      'User-Agent': first.userAgent,
      'X-Forwarded-For': first.forwardedFor,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return client
      .request({ method: batch > 0 ? 'POST' : 'GET', path: batch > 0 ? '/t' : first.path, headers, body })
      .then(
        ({ status }) => {
          const now = performance.now();
          watch.answered(now);
          const ms = now - from;
          latency.add(ms);
          window.add(ms);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status >= 200 && status < 300) {
            acknowledged += pixels.length;
            options.onAcknowledged?.(pixels.map((p) => p.rid));
          } else {
            refused += pixels.length;
          }
        },
        (error: LeanRequestError) => {
          watch.failed();
          failed += pixels.length;
          // By cause (ECONNRESET, ECONNREFUSED, ...), so a failed run says what happened.
          const key = `error ${error.code}`;
          statuses[key] = (statuses[key] ?? 0) + 1;
        },
      )
      .finally(() => {
        inFlight -= 1;
      });
  };

  const pending = new Set<Promise<void>>();
  // A server (or this process) that falls behind must not make the loop issue every remaining
  // request at once: that queues them all inside this process, starves the event loop that reads
  // the answers, and measures the load generator instead of the target. At most `maxInFlight`
  // requests are outstanding; a request that waits for a slot still counts its latency from its
  // scheduled time, so the delay shows in the percentiles (no coordinated omission).
  const maxInFlight = options.connections * 4;
  let slotFreed: (() => void) | undefined;
  const ticker = setInterval(() => {
    gaveUp ??= watch.verdict(url.origin, performance.now());
    onSecond?.(snapshot(), window.takeWindow());
  }, 1000);
  try {
    for (let i = 0; i < total && gaveUp === undefined; i += 1) {
      const due = started + (i * 1000) / requestRate;
      while (pending.size >= maxInFlight) await new Promise<void>((r) => (slotFreed = r));
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else if (i % 32 === 31) await new Promise((r) => setImmediate(r));
      scheduled += eventsPerRequest;
      const p = send(due).finally(() => {
        pending.delete(p);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
      pending.add(p);
    }
    await Promise.all(pending);
  } finally {
    clearInterval(ticker);
    client.close();
  }
  return { ...snapshot(), latency, ...(gaveUp === undefined ? {} : { gaveUp }) };
}
