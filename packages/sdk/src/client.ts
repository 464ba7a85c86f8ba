import type { Client, EventParams, Options, QueueStorage } from './types.js';
import { createUlid } from './ulid.js';

// Every byte here ships in the browser build (budget: 2.5 KB gzipped, test/size.test.ts), so
// the code is terse on purpose; the why is in the comments, which cost nothing.

/** A queued event as it is kept and stored: id, type, params, device-created time (ms). */
type Queued = [id: string, type: string, params: EventParams | undefined, created: number];

/**
 * What the SDK uses of a browser, where there is one. Declared here rather than taken from the
 * DOM library, so that a Node or React Native project type-checks the SDK without `lib: dom`.
 */
interface Host {
  navigator?: { onLine?: boolean; sendBeacon?(url: string, data: string): boolean };
  document?: {
    visibilityState: string;
    addEventListener(type: string, listener: (e: { type: string }) => void): void;
    removeEventListener(type: string, listener: (e: { type: string }) => void): void;
  };
  localStorage?: QueueStorage;
  addEventListener(type: string, listener: (e: { type: string }) => void): void;
  removeEventListener(type: string, listener: (e: { type: string }) => void): void;
}
const host = globalThis as unknown as Host;

const noop = (): void => undefined;
const offline = (): boolean => host.navigator?.onLine === false;
const fail = (what: string): never => {
  throw new TypeError(`pushtech.${what}`);
};
/** Callbacks run on their own turn: an exception in one surfaces without breaking the queue. */
const call = <T>(fn: ((info: T) => void) | undefined, info: T): unknown => fn && setTimeout(fn, 0, info);

function int(o: Options, name: keyof Options, fallback: number, min: number, max: number): number {
  const v = o[name] ?? fallback;
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max
    ? (v as number)
    : fail(`init: ${name} must be an integer from ${min} to ${max}`);
}

function defaultStorage(): QueueStorage | null {
  try {
    // Reading localStorage throws where storage is blocked (sandboxed frames, some privacy modes).
    return host.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * One SDK client: ids minted at track(), a persistent capped queue, batches sent to `POST /t`
 * one at a time, retried after Retry-After or with backoff, and beaconed when the page goes.
 * Options are checked here, with an error naming the option; the write key is never printed.
 */
export function createClient(o: Options): Client {
  const { endpoint, writeKey = '', storageKey = 'pushtech:queue', onDrop, onRetry } = o;
  if (typeof endpoint !== 'string' || !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(endpoint))
    fail('init: endpoint must be an http(s) URL such as https://t.example.com');
  if (typeof writeKey !== 'string') fail('init: writeKey must be a string');
  const storage = o.storage === undefined ? defaultStorage() : o.storage;
  if (storage && (typeof storage.getItem !== 'function' || typeof storage.setItem !== 'function'))
    fail('init: storage must have getItem and setItem');
  const maxBatch = int(o, 'maxBatch', 50, 1, 1000);
  const maxQueue = int(o, 'maxQueue', 1000, maxBatch, 1e6);
  const flushIntervalMs = int(o, 'flushIntervalMs', 5000, 0, 864e5);
  const maxRetries = int(o, 'maxRetries', 10, 0, 1000);
  const retryBaseMs = int(o, 'retryBaseMs', 1000, 1, 864e5);
  const retryMaxMs = int(o, 'retryMaxMs', 6e4, retryBaseMs, 864e5);
  const timeoutMs = int(o, 'timeoutMs', 1e4, 1, 6e5);
  const url = `${endpoint.replace(/\/+$/, '')}/t`;
  // A beacon cannot carry headers; the tracker also takes the key as the write_key param.
  const beaconUrl = writeKey ? `${url}?write_key=${encodeURIComponent(writeKey)}` : url;
  const webCrypto = globalThis.crypto;
  if (!webCrypto?.getRandomValues)
    fail('init: no crypto.getRandomValues (React Native: react-native-get-random-values)');
  const mint = createUlid((bytes) => webCrypto.getRandomValues(bytes));

  let queue: Queued[] = [];
  /** Events at the head of the queue that a request carries right now. */
  let inFlight = 0;
  /** Events per request: maxBatch, halved while a refused batch is narrowed down to its bad event. */
  let limit = maxBatch;
  let failures = 0;
  let retryAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let due = 0;
  let sending: Promise<boolean> | undefined;
  let loaded = false;
  let saving = false;
  let closed = false;
  let sent = 0;
  let dropped = 0;
  let retries = 0;

  const drop = (reason: string, status: number, events: Queued[]): void => {
    dropped += events.length;
    call(onDrop, { reason, status, ids: events.map((e) => e[0]) });
  };
  const cap = (): void => {
    const over = queue.length - maxQueue;
    if (over > 0) drop('queue full', 0, queue.splice(inFlight, over));
  };

  const write = (): unknown => {
    saving = false;
    try {
      if (storage && loaded) return Promise.resolve(storage.setItem(storageKey, JSON.stringify(queue))).catch(noop);
    } catch {
      // Storage full or blocked: the queue lives on in memory.
    }
  };
  // One write per task, however many events it tracked.
  const save = (): void => {
    if (!saving) {
      saving = true;
      void Promise.resolve().then(write);
    }
  };

  const schedule = (ms: number): void => {
    const at = Math.max(Date.now() + ms, retryAt);
    if (closed || (timer && due <= at)) return;
    clearTimeout(timer);
    due = at;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, at - Date.now());
  };

  /** The wire format: `_id`, `_ct` and `_st` (sent now, the same for the whole request). */
  const body = (batch: Queued[]): string => {
    const _st = Date.now();
    return JSON.stringify(batch.map(([_id, event, p, _ct]) => ({ event, params: { ...p, _id, _ct, _st } })));
  };

  const pump = async (): Promise<boolean> => {
    await ready;
    while (queue.length) {
      // A timer may fire a little before Date.now() reaches retryAt: it is set again.
      if (Date.now() < retryAt) {
        schedule(0);
        return false;
      }
      // The 'online' event sends again; an offline browser does not use up retries.
      if (offline()) return false;
      const batch = queue.slice(0, limit);
      const n = (inFlight = batch.length);
      let status = 0;
      let reason = '';
      let wait = -1;
      const abort = new AbortController();
      const timeout = setTimeout(() => abort.abort(), timeoutMs);
      try {
        const res = await fetch(url, {
          method: 'POST',
          body: body(batch),
          headers: writeKey ? { 'X-Write-Key': writeKey } : {},
          signal: abort.signal,
        });
        status = res.status;
        // The tracker sends seconds; a missing header (or one CORS hides) means backoff.
        wait = Number(res.headers.get('retry-after') || -1) * 1000;
        reason = (await res.text()).slice(0, 300) || `HTTP ${status}`;
      } catch (e: unknown) {
        reason = abort.signal.aborted ? `no answer in ${timeoutMs} ms` : String(e);
      }
      clearTimeout(timeout);
      inFlight = 0;
      if (status > 199 && status < 300) {
        sent += n;
        queue.splice(0, n);
        failures = 0;
        limit = maxBatch;
      } else if ((status === 400 || status === 413) && n > 1) {
        // The tracker stores nothing of a refused batch: halve it until the bad event stands alone.
        limit = Math.ceil(n / 2);
        continue;
      } else if (status > 399 && status < 500 && status !== 408 && status !== 429) {
        drop(reason, status, queue.splice(0, n));
        limit = maxBatch;
      } else if (failures >= maxRetries) {
        failures = 0;
        drop(`gave up after ${maxRetries} retries: ${reason}`, status, queue.splice(0, n));
      } else {
        // Network error, timeout, 408, 429 or 5xx: after Retry-After, else exponential backoff with jitter.
        retries++;
        const delayMs =
          wait >= 0 ? wait : Math.min(retryMaxMs, retryBaseMs * 2 ** failures) * (0.5 + Math.random() / 2);
        retryAt = Date.now() + delayMs;
        call(onRetry, { attempt: ++failures, delayMs, status, reason });
        schedule(0);
        return false;
      }
      save();
    }
    return true;
  };

  const flush = (): Promise<boolean> =>
    (sending ??= pump().finally(() => {
      sending = undefined;
    }));

  /** The page is going (hidden, closed, reloaded): what is not on its way goes by beacon. */
  const leave = (e: { type: string }): void => {
    if (e.type !== 'pagehide' && host.document?.visibilityState !== 'hidden') return;
    while (loaded && !offline() && queue.length > inFlight) {
      const batch = queue.slice(inFlight, inFlight + maxBatch);
      const data = body(batch);
      if (host.navigator?.sendBeacon?.(beaconUrl, data)) {
        sent += queue.splice(inFlight, batch.length).length;
      } else {
        // No beacon, or over its budget: the events stay queued (the next page load sends them
        // unless this request arrives first; dedup downstream counts them once).
        fetch(beaconUrl, { method: 'POST', body: data, keepalive: true }).catch(noop);
        break;
      }
    }
    write();
  };
  const online = (): void => {
    retryAt = 0;
    schedule(0);
  };
  const listen = (method: 'addEventListener' | 'removeEventListener'): void => {
    if (host.document) {
      host.document[method]('visibilitychange', leave);
      host[method]('pagehide', leave);
      host[method]('online', online);
    }
  };

  // Stored events (an earlier page or run) go first; events tracked meanwhile follow them.
  const ready = (async (): Promise<void> => {
    try {
      const stored = JSON.parse((storage && (await storage.getItem(storageKey))) || '[]') as Queued[];
      const fresh = new Set(queue.map((e) => e[0]));
      queue = stored.filter((e) => Array.isArray(e) && !fresh.has(e[0])).concat(queue);
    } catch {
      drop('stored queue unreadable', 0, []);
    }
    loaded = true;
    cap();
    save();
    if (queue.length) schedule(0);
  })();
  listen('addEventListener');

  return {
    track(eventType, params) {
      if (closed) fail('track: the client is shut down');
      if (typeof eventType !== 'string' || !eventType) fail('track: eventType must be a non-empty string');
      if (params !== undefined && params !== null && typeof params !== 'object')
        fail('track: params must be an object');
      for (const key in params) {
        const v = params[key];
        if (v !== null && !'string number boolean undefined'.includes(typeof v))
          fail(`track: params.${key} must be a string, number or boolean`);
      }
      const now = Date.now();
      const id = mint(now);
      queue.push([id, eventType, params ? { ...params } : undefined, now]);
      if (queue.length > maxQueue) cap();
      save();
      if (queue.length - inFlight >= limit) schedule(0);
      else if (!timer) schedule(flushIntervalMs);
      return id;
    },
    flush,
    async shutdown() {
      closed = true;
      listen('removeEventListener');
      clearTimeout(timer);
      const done = await flush();
      await write();
      return done;
    },
    stats: () => ({ queued: queue.length, sent, dropped, retries }),
  };
}
