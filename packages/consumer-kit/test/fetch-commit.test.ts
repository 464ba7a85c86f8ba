import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, testAdmin } from '@pushtech/devstack/testing';
import { defineConsumer, type ConsumedEvent } from '../src/index.js';
import { sampleEvent, startConsumerHarness, type ConsumerHarness } from '../src/testing/index.js';

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function commits(harness: ConsumerHarness): Promise<number> {
  return metricValue((await harness.registries[0]?.metrics()) ?? '', 'pushtech_consumer_offset_commits_total');
}

function recorder(seen: ConsumedEvent[][], options: { commitEachBatch?: boolean } = {}) {
  return defineConsumer({
    name: 'recorder',
    ...options,
    handleBatch(events) {
      seen.push([...events]);
      return Promise.resolve();
    },
  });
}

describe('fetch batching and offset commits', () => {
  it('commits once per interval however many batches it handles, and what is left when it stops', async (t) => {
    const batches: ConsumedEvent[][] = [];
    const harness = await startConsumerHarness(t, recorder(batches), {
      partitions: 1,
      env: { CONSUMER_COMMIT_INTERVAL_MS: '60000', CONSUMER_FETCH_MIN_BYTES: '1' },
    });
    // Ten rounds, each handled before the next is produced: ten batches at least.
    let total = 0;
    for (let round = 0; round < 10; round += 1) {
      await harness.produce(Array.from({ length: 5 }, () => sampleEvent()));
      total += 5;
      await eventually(`round ${round} handled`, () => (batches.flat().length >= total ? true : undefined));
    }
    assert.ok(batches.length >= 10, `${batches.length} batches`);
    assert.ok((await commits(harness)) <= 1, `${await commits(harness)} commits for ${batches.length} batches`);
    // A graceful stop commits what was handled: the next owner does not read it again.
    await harness.stop();
    assert.ok((await commits(harness)) <= 2);
    const admin = await testAdmin(t);
    assert.deepEqual(await admin.groupOffsets(harness.groupId, harness.topic), [{ partition: 0, offset: '50' }]);
  });

  it('commits after every batch a consumer that asks so (the archiver), whatever the interval', async (t) => {
    const batches: ConsumedEvent[][] = [];
    const harness = await startConsumerHarness(t, recorder(batches, { commitEachBatch: true }), {
      partitions: 1,
      env: { CONSUMER_COMMIT_INTERVAL_MS: '60000', CONSUMER_FETCH_MIN_BYTES: '1' },
    });
    let total = 0;
    for (let round = 0; round < 5; round += 1) {
      await harness.produce(Array.from({ length: 5 }, () => sampleEvent()));
      total += 5;
      await eventually(`round ${round} handled`, () => (batches.flat().length >= total ? true : undefined));
      // Committed before the next round, not at the interval's end: a crash now replays nothing.
      await eventually(`round ${round} committed`, async () => ((await commits(harness)) > round ? true : undefined));
    }
    const admin = await testAdmin(t);
    assert.deepEqual(await admin.groupOffsets(harness.groupId, harness.topic), [{ partition: 0, offset: '25' }]);
  });

  it('handles and commits a lone event without waiting for more traffic', async (t) => {
    const batches: ConsumedEvent[][] = [];
    const harness = await startConsumerHarness(t, recorder(batches), {
      partitions: 1,
      // A fetch would wait for 1 MB; the wait bound answers it, and the commit follows on its own.
      env: {
        CONSUMER_FETCH_MIN_BYTES: String(1024 * 1024),
        CONSUMER_FETCH_MAX_WAIT_MS: '200',
        CONSUMER_COMMIT_INTERVAL_MS: '500',
      },
    });
    await harness.produce([sampleEvent()]);
    await harness.waitUntilHandled();
    assert.equal(batches.flat().length, 1);
  });
});
