import type { Cleanup } from '@pushtech/devstack/testing';

/**
 * node:test runs `t.after` hooks in registration order; a resource that others depend on (a
 * private Kafka broker that consumers disconnect from) must go last. Hooks registered on the
 * returned object run after everything registered later, in reverse order.
 */
export function lastInLine(t: Cleanup): Cleanup {
  const stack: Array<() => Promise<void> | void> = [];
  const outer = t;
  // Registered now, but its work is deferred: it re-registers itself as the final hook.
  outer.after(() => {
    outer.after(async () => {
      for (const fn of stack.reverse()) await fn();
    });
  });
  return { after: (fn) => void stack.push(fn) };
}
