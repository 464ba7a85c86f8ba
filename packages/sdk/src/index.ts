/**
 * @pushtech/sdk: events get their id on the device at track(), wait in a persistent queue and
 * are sent in batches to the tracker, retried until it answered, so a retry carries the same id.
 * `init`/`track`/`flush`/`shutdown` drive one default client (`window.pushtech` in a script tag);
 * `createClient` makes more.
 */
import { createClient } from './client.js';
import type { Client, EventParams, Options, Stats } from './types.js';

export { createClient };
export type { Client, DropInfo, EventParams, Options, QueueStorage, RetryInfo, Stats } from './types.js';

let client: Client | undefined;

const current = (name: string): Client => {
  if (!client) throw new Error(`pushtech.${name}: call pushtech.init first`);
  return client;
};

/** Starts the default client. */
export function init(options: Options): void {
  if (client) throw new Error('pushtech.init: called twice; call pushtech.shutdown first');
  client = createClient(options);
}

/** Queues an event and returns its id. */
export const track = (eventType: string, params?: EventParams): string => current('track').track(eventType, params);

/** Sends the queue now: true when it is empty, false when a send failed (retried later). */
export const flush = (): Promise<boolean> => current('flush').flush();

/** Counters: queued, sent, dropped, retries. */
export const stats = (): Stats => current('stats').stats();

/** Stops the default client, sending what it can; what is left stays in storage. */
export function shutdown(): Promise<boolean> {
  const stopping = client;
  client = undefined;
  return stopping ? stopping.shutdown() : Promise.resolve(true);
}
