/** An event's params: flat scalars, as in a query string. `null` and `undefined` are left out. */
export type EventParams = Record<string, string | number | boolean | null | undefined>;

/**
 * Where the queue survives reloads and restarts: localStorage in browsers, AsyncStorage in React
 * Native, `fileStorage(dir)` from `@pushtech/sdk/node` in Node. Both methods may be sync or async.
 */
export interface QueueStorage {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>;
  setItem(key: string, value: string): unknown;
}

/** Why events left the queue without reaching the tracker. */
export interface DropInfo {
  /** A one-line reason: the tracker's own for a refusal, else `queue full` or why retries stopped. */
  readonly reason: string;
  /** The tracker's HTTP status; 0 when no answer was involved (queue full, network error). */
  readonly status: number;
  /** The dropped events' ids. */
  readonly ids: string[];
}

/** A send that failed and will be retried after `delayMs`. */
export interface RetryInfo {
  /** 1 for the first retry of this batch. */
  readonly attempt: number;
  readonly delayMs: number;
  /** The tracker's HTTP status; 0 for a network error or a timeout. */
  readonly status: number;
  readonly reason: string;
}

export interface Options {
  /** The tracker's base URL, such as `https://t.example.com`. */
  endpoint: string;
  /** Sent as the `X-Write-Key` header (as `write_key` in the URL of a beacon, which has no headers). */
  writeKey?: string;
  /** How long an event waits for others to share its request (default 5000 ms). */
  flushIntervalMs?: number;
  /** Events per request; a full batch is sent at once (default 50, at most 1000). */
  maxBatch?: number;
  /** Events kept at most; beyond it the oldest are dropped and counted (default 1000). */
  maxQueue?: number;
  /** Where the queue is kept; default localStorage where there is one, else memory only (`null`). */
  storage?: QueueStorage | null;
  /** The storage key of the queue (default `pushtech:queue`). */
  storageKey?: string;
  /** Retries of one batch before it is dropped (default 10). */
  maxRetries?: number;
  /** First backoff delay after a network error or 5xx, doubled per retry (default 1000 ms). */
  retryBaseMs?: number;
  /** Longest backoff delay (default 60000 ms). */
  retryMaxMs?: number;
  /** A request without an answer after this long counts as a network error (default 10000 ms). */
  timeoutMs?: number;
  onDrop?: (info: DropInfo) => void;
  onRetry?: (info: RetryInfo) => void;
}

export interface Stats {
  /** Events waiting in the queue (including a batch on its way). */
  readonly queued: number;
  /** Events the tracker acknowledged (or a beacon took). */
  readonly sent: number;
  /** Events given up: refused, retried too often, or pushed out of a full queue. */
  readonly dropped: number;
  /** Sends that failed and were scheduled again. */
  readonly retries: number;
}

export interface Client {
  /** Queues an event and returns its id (a ULID minted here, carried by every retry). */
  track(eventType: string, params?: EventParams): string;
  /** Sends the queue now; true when it is empty, false when a send failed (it is retried later). */
  flush(): Promise<boolean>;
  /** Stops timers and listeners, sends what it can once, and keeps the rest in storage. */
  shutdown(): Promise<boolean>;
  stats(): Stats;
}
