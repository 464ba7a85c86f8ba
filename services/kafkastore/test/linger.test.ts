/**
 * The linger (issue 21): at a steady moderate rate the events of a linger share one produce
 * round instead of one round per take of a few events; a lone event settles without more
 * traffic. Real Redis and Kafka;
 * kafkastore runs in this process with a producer that counts its rounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testKafka, type Cleanup } from '@pushtech/devstack/testing';
import { serviceSetup, type ServiceSetup } from './helpers/env.js';
import { encodeHits, rawHit } from './helpers/hits.js';
import { overriding, runInProcess } from './helpers/in-process.js';
import { readTopic } from './helpers/topic-reader.js';

/** kafkastore in this process; `rounds` holds the events of each produce round, in order. */
async function runCounted(t: Cleanup, setup: ServiceSetup): Promise<{ rounds: number[]; stop: () => Promise<void> }> {
  const rounds: number[] = [];
  const { stop } = await runInProcess(t, setup, 'linger-test', (inner) =>
    overriding(inner, {
      produce(batches) {
        rounds.push(batches.reduce((n, b) => n + b.messages.length, 0));
        return inner.produce(batches);
      },
    }),
  );
  return { rounds, stop };
}

describe('the linger before a partial batch', () => {
  it('at a steady moderate rate, the events of a linger share a produce round', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_LINGER_MS: '100', KAFKASTORE_BATCH: '500' });
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const { rounds, stop } = await runCounted(t, setup);
    // One event every 5 ms, each in its own LPUSH, as a tracker at a moderate rate writes them.
    const hits = Array.from({ length: 100 }, () => rawHit());
    for (const hit of hits) {
      await setup.redis.lpush(setup.queueKey, ...encodeHits([hit]));
      await sleep(5);
    }
    await reader.waitForIds(hits.map((h) => h.id));
    await stop();
    assert.equal(reader.messages.length, hits.length, 'no duplicates');
    // Without the linger each take finds the one or two events of a round trip.
    assert.ok(rounds.length <= hits.length / 5, `${hits.length} events took ${rounds.length} produce rounds`);
  });

  it('a lone event after an idle spell is produced without more traffic, in a round of its own', async (t) => {
    const setup = await serviceSetup(t, { KAFKASTORE_LINGER_MS: '1000', KAFKASTORE_BATCH: '10' });
    const reader = await readTopic(t, await testKafka(), setup.topic);
    const { rounds, stop } = await runCounted(t, setup);
    const lone = rawHit();
    await setup.redis.lpush(setup.queueKey, ...encodeHits([lone]));
    await reader.waitForIds([lone.id]);
    await stop();
    assert.deepEqual(rounds, [1]);
  });
});
