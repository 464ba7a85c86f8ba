import type { Redis } from 'ioredis';
import type { ConfigOf, ConfigSchema, Logger, Registry } from '@pushtech/runtime';
import type { ConsumedEvent } from './consumed-event.js';
import type { Dedup } from './dedup.js';
import { ConsumerKitError } from './errors.js';

/** What a handler gets besides its events. */
export interface ConsumerContext<Config> {
  readonly name: string;
  /** The consumer's own settings, parsed from the environment (see `settings`). */
  readonly config: Config;
  readonly logger: Logger;
  /** The process's Prometheus registry, for the consumer's own metrics. */
  readonly metrics: Registry;
  /** Shared Redis client; only for consumers defined with `redis: true`. */
  readonly redis: Redis;
  /**
   * Exactly-once effects in Redis: by partition offset, and by event id within
   * CONSUMER_DEDUP_WINDOW_SECONDS (see Dedup); only for consumers defined with `redis: true`.
   */
  readonly dedup: Dedup;
  /** `<CONSUMER_KEY_PREFIX>:<name>`: the namespace for the consumer's Redis keys. */
  readonly keyPrefix: string;
  /** Aborted when the process is stopping; long work may end early and throw. */
  readonly signal: AbortSignal;
  /** Keeps the group membership alive during a long batch. */
  heartbeat(): Promise<void>;
}

export interface ConsumerDefinition<Config> {
  /** Lower snake case; also the default group id suffix and the metrics label. */
  readonly name: string;
  /** Topics to read; KAFKA_TOPIC when omitted. */
  readonly topics?: readonly string[];
  /** The consumer's own environment variables, validated at start-up. */
  readonly settings?: ConfigSchema;
  readonly redis?: boolean;
  /**
   * Commit after every batch, whatever CONSUMER_COMMIT_INTERVAL_MS says: for a consumer whose
   * effect is idempotent only batch by batch (the archiver names a file by its batch's offsets,
   * so a replay after a crash must start where the last uncommitted batch started).
   */
  readonly commitEachBatch?: boolean;
  /**
   * This consumer's fetch linger in ms, in place of CONSUMER_FETCH_LINGER_MS: for a consumer
   * whose effect nobody waits for by the second (the archiver's hourly files), a longer linger
   * means fewer, larger batches, so fewer files, fetches and commits. A backlog never waits.
   */
  fetchLingerMs?(config: Config): number;
  /**
   * Throws when something the handler needs cannot be used now. Make it a probe that really
   * writes (a small file written, fsynced and removed; a row inserted): a dependency that still
   * answers reads may refuse every write. For `redis: true` the kit already probes Redis with a
   * SET (with expiry) under `ctx.keyPrefix`. The probe runs every few seconds for readiness
   * (never per event), before any event is dead-lettered, and before each new attempt at a batch
   * held by an outage. A throw means an outage, not bad events: nothing is dead-lettered or
   * committed, the consumer reports not ready and retries the batch with backoff until the
   * probe passes and the batch goes through; the process does not exit.
   */
  checkDependencies?(ctx: ConsumerContext<Config>): Promise<void>;
  /**
   * Handles one batch. Resolving commits the batch's offsets; throwing retries it with backoff,
   * then isolates the failing events and dead-letters those that fail alone. An error that
   * points at the infrastructure (a Redis error reply such as OOM or READONLY, a lost
   * connection, ENOSPC/EROFS/EIO/EDQUOT, anything wrapped with `transient(error)`, also as a
   * `cause`) is an outage instead: the batch is held and retried, nothing is dead-lettered.
   * So is every event of a batch failing alone the same way. May see an event again after a
   * crash, a rebalance or an outage (at-least-once): make the effect idempotent (see
   * `ctx.dedup`).
   */
  handleBatch(events: readonly ConsumedEvent[], ctx: ConsumerContext<Config>): Promise<void>;
}

/** Any consumer, whatever its settings (what the runner holds in a list). */
export type AnyConsumerDefinition = ConsumerDefinition<unknown>;

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Declares a consumer: a name, optional topics and settings, and a batch handler. */
export function defineConsumer<S extends ConfigSchema = Record<never, never>>(definition: {
  readonly name: string;
  readonly topics?: readonly string[];
  readonly settings?: S;
  readonly redis?: boolean;
  readonly commitEachBatch?: boolean;
  fetchLingerMs?(config: ConfigOf<S>): number;
  checkDependencies?(ctx: ConsumerContext<ConfigOf<S>>): Promise<void>;
  handleBatch(events: readonly ConsumedEvent[], ctx: ConsumerContext<ConfigOf<S>>): Promise<void>;
}): ConsumerDefinition<ConfigOf<S>> {
  if (!NAME.test(definition.name)) {
    throw new ConsumerKitError(
      'PT_ERR_CONSUMER_DEFINITION',
      `consumer name ${JSON.stringify(definition.name)} is not lower snake case (e.g. event_counter)`,
    );
  }
  if (definition.topics?.length === 0) {
    throw new ConsumerKitError(
      'PT_ERR_CONSUMER_DEFINITION',
      `consumer ${definition.name}: topics is empty; omit it to read KAFKA_TOPIC`,
    );
  }
  return Object.freeze({ ...definition });
}
