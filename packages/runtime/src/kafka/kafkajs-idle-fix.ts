import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 keeps checking its request queue on a timer even when nothing waits in it: with
 * no client-side throttle the delay is negative, so every broker connection runs a 1 ms timer
 * loop for as long as it is open (tulios/kafkajs#1556, fix proposed in #1667, unreleased). That
 * is about a thousand wake-ups a second per connection, in every process that talks to Kafka,
 * idle or not (kafkastore idle: 2.4 % of a core, 0.2 % with this). The check is only needed while
 * requests wait (throttled, or over maxInFlightRequests); a new or fulfilled request runs it
 * again, so the timer is armed only then.
 */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own interval for re-checking a queue that is merely over its in-flight limit. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };

prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
};
