/**
 * Assertions for a consumer through an outage of what it writes to (issue 20): the batch is held,
 * not dead-lettered or committed, the service not ready; once the outage ends, it is handled.
 */
import assert from 'node:assert/strict';
import type { KafkaAdmin } from '@pushtech/runtime';
import { eventually } from '@pushtech/devstack/testing';
import type { ConsumerHarness } from './consumer-harness.js';

/** The sum of a metric's series (Prometheus text) whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** The messages of the fatal errors the harness's services report, as they come. */
export function fatalErrors(h: ConsumerHarness): string[] {
  const fatal: string[] = [];
  for (const s of h.services) s.onFatal((error) => fatal.push(error.message));
  return fatal;
}

/** Waits until the consumer held a batch through `retries` retries with the outage gauge at 1 for `reason`. */
export async function heldThroughRetries(
  h: Pick<ConsumerHarness, 'registries'>,
  consumer: string,
  reason: string,
  retries = 3,
): Promise<void> {
  await eventually(
    `${consumer} held by ${reason} through ${retries} retries`,
    async () => {
      const text = (await h.registries[0]?.metrics()) ?? '';
      return metricSum(text, 'pushtech_consumer_outage', `consumer="${consumer}",reason="${reason}"`) === 1 &&
        metricSum(text, 'pushtech_consumer_outage_retries_total', `consumer="${consumer}"`) >= retries
        ? true
        : undefined;
    },
    30_000,
  );
}

/** During the outage: nothing dead-lettered, nothing committed, not ready, still running, no fatal error. */
export async function assertHeld(
  admin: KafkaAdmin,
  h: ConsumerHarness,
  consumer: string,
  fatal: readonly string[],
): Promise<void> {
  assert.equal(await deadLetterCount(admin, h), 0, 'nothing dead-lettered');
  assert.deepEqual(await committed(admin, h), ['-1'], 'nothing committed');
  const ready = await h.services[0]?.probes.ready();
  assert.equal(ready?.ok, false, 'not ready during the outage');
  assert.match(ready?.checks[`consumer:${consumer}`] ?? '', /^outage \(/);
  assert.equal(h.services[0]?.runners[0]?.running, true, 'the consumer waits, it does not end');
  assert.deepEqual(fatal, []);
}

/** After the outage: every event handled, the outage gauge back to 0, ready again, still nothing dead-lettered. */
export async function assertRecovered(
  admin: KafkaAdmin,
  h: ConsumerHarness,
  consumer: string,
  fatal: readonly string[],
): Promise<void> {
  await h.waitUntilHandled();
  const text = (await h.registries[0]?.metrics()) ?? '';
  assert.equal(metricSum(text, 'pushtech_consumer_outage', `consumer="${consumer}"`), 0, 'outage gauge back to 0');
  assert.equal(metricSum(text, 'pushtech_consumer_dead_lettered_total', `consumer="${consumer}"`), 0);
  assert.equal((await h.services[0]?.probes.ready())?.ok, true, 'ready again');
  assert.equal(await deadLetterCount(admin, h), 0, 'still nothing dead-lettered');
  assert.deepEqual(fatal, []);
}

/** Messages on the dead-letter topic (all partitions). */
export async function deadLetterCount(admin: KafkaAdmin, h: Pick<ConsumerHarness, 'deadLetterTopic'>): Promise<number> {
  return (await admin.topicOffsets(h.deadLetterTopic)).reduce((n, p) => n + Number(p.high), 0);
}

/** The group's committed offset of each partition (`-1`: none). */
export async function committed(admin: KafkaAdmin, h: Pick<ConsumerHarness, 'groupId' | 'topic'>): Promise<string[]> {
  return (await admin.groupOffsets(h.groupId, h.topic)).map((p) => p.offset);
}
